from __future__ import annotations

from collections.abc import Sequence

from ..types import PendingSession, SchedulingState
from .base import AbstractSequencer


class FIFOSequencer(AbstractSequencer):
    """Oldest first ("heuristic FIFO" when num_retries_to_skip enables HoL avoidance)."""

    name = "fifo"

    def pick(self, candidates: Sequence[PendingSession], state: SchedulingState) -> PendingSession:
        return min(candidates, key=lambda s: (self.is_pushed_back(s), s.created_at, str(s.session_id)))
