"""Session lifecycle events, produced by the manager for its scheduler and for SSE streams.

Names match the `/events/session` stream (session_enqueued ... session_terminated).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .base import AbstractEvent, EventDelivery

_BOTH = EventDelivery.ANYCAST | EventDelivery.BROADCAST


@dataclass
class SessionLifecycleEvent(AbstractEvent):
    session_id: uuid.UUID
    reason: str = ""
    delivery = _BOTH


@dataclass
class SessionEnqueuedEvent(SessionLifecycleEvent):
    name = "session_enqueued"


@dataclass
class SessionScheduledEvent(SessionLifecycleEvent):
    name = "session_scheduled"


@dataclass
class SessionPreparingEvent(SessionLifecycleEvent):
    name = "session_preparing"


@dataclass
class SessionPullingEvent(SessionLifecycleEvent):
    name = "session_pulling"


@dataclass
class SessionCreatingEvent(SessionLifecycleEvent):
    name = "session_creating"


@dataclass
class SessionStartedEvent(SessionLifecycleEvent):
    name = "session_started"


@dataclass
class SessionTerminatingEvent(SessionLifecycleEvent):
    name = "session_terminating"


@dataclass
class SessionTerminatedEvent(SessionLifecycleEvent):
    name = "session_terminated"


@dataclass
class SessionCancelledEvent(SessionLifecycleEvent):
    name = "session_cancelled"


@dataclass
class SessionSuccessEvent(SessionLifecycleEvent):
    """A batch session's main kernel exited with 0."""

    name = "session_success"
    exit_code: int = 0


@dataclass
class SessionFailureEvent(SessionLifecycleEvent):
    """A batch session's main kernel exited non-zero (or the session failed)."""

    name = "session_failure"
    exit_code: int = -1


@dataclass
class DoScheduleEvent(AbstractEvent):
    """Ask some manager process to run a scheduling pass now."""

    name = "do_schedule"


@dataclass
class DoTerminateSessionEvent(AbstractEvent):
    name = "do_terminate_session"
    session_id: uuid.UUID
    reason: str = ""
