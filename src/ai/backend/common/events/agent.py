"""Agent presence events: registration, heartbeats (with the full kernel list) and shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import AbstractEvent, EventDelivery


@dataclass
class AgentStartedEvent(AbstractEvent):
    name = "agent_started"
    agent_id: str
    reason: str = ""


@dataclass
class AgentTerminatedEvent(AbstractEvent):
    name = "agent_terminated"
    agent_id: str
    reason: str = ""


@dataclass
class AgentHeartbeatEvent(AbstractEvent):
    """`agent_info` follows common.agent_types.AgentInfo."""

    name = "agent_heartbeat"
    agent_id: str
    agent_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentErrorEvent(AbstractEvent):
    """Something went wrong on the agent outside any single kernel's lifecycle."""

    name = "agent_error"
    agent_id: str
    message: str
    traceback: str | None = None


@dataclass
class DoAgentResyncEvent(AbstractEvent):
    """Broadcast by the manager to ask agents for an immediate heartbeat."""

    name = "do_agent_resync"
    delivery = EventDelivery.BROADCAST
    agent_id: str | None = None  # None: every agent
