from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ai.backend.common.types import ResourceSlot

from ..types import AgentView

# Scarcer devices first: ordering remaining capacity this way packs or spreads accelerators
# before CPU and memory.
_SLOT_PRIORITY = ("cuda", "rocm", "tpu", "mock", "cpu", "mem")


def _priority(slot: str) -> int:
    device = slot.split(".", 1)[0]
    try:
        return _SLOT_PRIORITY.index(device)
    except ValueError:
        return len(_SLOT_PRIORITY) - 2  # unknown accelerators rank just before cpu


def remaining_key(agent: AgentView, requested: ResourceSlot) -> tuple[Decimal, ...]:
    """Remaining amounts of the requested slot types, scarcest device first."""
    slots = sorted((s for s in requested if requested[s] > 0), key=lambda s: (_priority(s), s))
    rem = agent.remaining
    return tuple(rem.get(s, Decimal(0)) for s in slots)


class AbstractAgentSelector(ABC):
    name: str

    def __init__(self, opts: dict[str, Any]) -> None:
        self.opts = opts

    def candidates(self, agents: Sequence[AgentView], requested: ResourceSlot, architecture: str) -> list[AgentView]:
        return [a for a in agents if a.architecture == architecture and a.fits(requested)]

    @abstractmethod
    def select(self, agents: Sequence[AgentView], requested: ResourceSlot, architecture: str) -> AgentView | None:
        """An agent that can hold `requested`, or None when none can."""
