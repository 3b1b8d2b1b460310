from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ..types import PendingSession, SchedulingState


class AbstractSequencer(ABC):
    """Chooses the next pending session to try. Called repeatedly within one pass, so a
    sequencer that depends on occupancy (DRF) sees the sessions placed earlier in the pass."""

    name: str

    def __init__(self, opts: dict[str, Any]) -> None:
        self.opts = opts
        # Head-of-line blocking avoidance: sessions whose placement failed this many times
        # are pushed behind the others (0 = disabled, strict order).
        self.num_retries_to_skip = int(opts.get("num_retries_to_skip", 0) or 0)

    @property
    def hol_avoidance(self) -> bool:
        return self.num_retries_to_skip > 0

    def is_pushed_back(self, sess: PendingSession) -> bool:
        return self.hol_avoidance and sess.retries >= self.num_retries_to_skip

    @abstractmethod
    def pick(self, candidates: Sequence[PendingSession], state: SchedulingState) -> PendingSession:
        """Return one of `candidates` (never empty)."""
