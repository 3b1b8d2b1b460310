from __future__ import annotations

from collections.abc import Sequence

from ai.backend.common.types import ResourceSlot

from ..types import AgentView
from .base import AbstractAgentSelector, remaining_key


class DispersedAgentSelector(AbstractAgentSelector):
    """Spreads: the fitting agent with the most remaining capacity."""

    name = "dispersed"

    def select(self, agents: Sequence[AgentView], requested: ResourceSlot, architecture: str) -> AgentView | None:
        fits = self.candidates(agents, requested, architecture)
        if not fits:
            return None
        return max(fits, key=lambda a: (remaining_key(a, requested), _neg_id(a.agent_id)))


def _neg_id(agent_id: str) -> tuple[int, ...]:
    # ties go to the smallest id, as with the concentrated selector
    return tuple(-ord(c) for c in agent_id)
