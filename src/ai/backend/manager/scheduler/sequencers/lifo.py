from __future__ import annotations

from collections.abc import Sequence

from ..types import PendingSession, SchedulingState
from .base import AbstractSequencer


class LIFOSequencer(AbstractSequencer):
    """Newest first."""

    name = "lifo"

    def pick(self, candidates: Sequence[PendingSession], state: SchedulingState) -> PendingSession:
        return min(
            candidates,
            key=lambda s: (self.is_pushed_back(s), -s.created_at.timestamp(), str(s.session_id)),
        )
