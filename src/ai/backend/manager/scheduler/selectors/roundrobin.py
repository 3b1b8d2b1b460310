from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ai.backend.common.types import ResourceSlot

from ..types import AgentView
from .base import AbstractAgentSelector


class RoundRobinAgentSelector(AbstractAgentSelector):
    """Takes fitting agents in turn (ordered by id), continuing after the last one chosen."""

    name = "roundrobin"

    def __init__(self, opts: dict[str, Any]) -> None:
        super().__init__(opts)
        self.last_agent_id: str | None = None

    def select(self, agents: Sequence[AgentView], requested: ResourceSlot, architecture: str) -> AgentView | None:
        fits = sorted(self.candidates(agents, requested, architecture), key=lambda a: a.agent_id)
        if not fits:
            return None
        chosen = next((a for a in fits if self.last_agent_id is None or a.agent_id > self.last_agent_id), fits[0])
        self.last_agent_id = chosen.agent_id
        return chosen
