from __future__ import annotations

from collections.abc import Sequence

from ai.backend.common.types import ResourceSlot

from ..types import AgentView
from .base import AbstractAgentSelector, remaining_key


class ConcentratedAgentSelector(AbstractAgentSelector):
    """Packs: the fitting agent with the least remaining capacity, keeping others free."""

    name = "concentrated"

    def select(self, agents: Sequence[AgentView], requested: ResourceSlot, architecture: str) -> AgentView | None:
        fits = self.candidates(agents, requested, architecture)
        if not fits:
            return None
        return min(fits, key=lambda a: (remaining_key(a, requested), a.agent_id))
