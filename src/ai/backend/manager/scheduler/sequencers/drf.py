from __future__ import annotations

from collections.abc import Sequence

from ..types import PendingSession, SchedulingState
from .base import AbstractSequencer


class DRFSequencer(AbstractSequencer):
    """Dominant resource fairness: the next slot goes to the user whose dominant share (the
    largest fraction of any resource of the group they occupy) is smallest; ties go to the
    oldest session. Shares include sessions placed earlier in the same pass."""

    name = "drf"

    def pick(self, candidates: Sequence[PendingSession], state: SchedulingState) -> PendingSession:
        return min(
            candidates,
            key=lambda s: (
                self.is_pushed_back(s),
                state.dominant_share(s.user_id),
                s.created_at,
                str(s.session_id),
            ),
        )
