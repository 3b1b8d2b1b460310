"""Session lifecycle events the manager produces when a session's status changes.

The `/events/session` stream and clients waiting for a session (create without enqueueOnly)
listen to these; they are derived from status changes so they always agree with the DB.
"""

from __future__ import annotations

import logging
import uuid

from ai.backend.common.events.session import (
    SessionCancelledEvent,
    SessionCreatingEvent,
    SessionFailureEvent,
    SessionLifecycleEvent,
    SessionPreparingEvent,
    SessionPullingEvent,
    SessionScheduledEvent,
    SessionStartedEvent,
    SessionTerminatedEvent,
    SessionTerminatingEvent,
)
from ai.backend.common.status import SessionStatus

from ..context import RootContext

log = logging.getLogger(__name__)

S = SessionStatus

EVENT_FOR_STATUS: dict[SessionStatus, type[SessionLifecycleEvent]] = {
    S.SCHEDULED: SessionScheduledEvent,
    S.PREPARING: SessionPreparingEvent,
    S.PULLING: SessionPullingEvent,
    S.CREATING: SessionCreatingEvent,
    S.RUNNING: SessionStartedEvent,
    S.TERMINATING: SessionTerminatingEvent,
    S.TERMINATED: SessionTerminatedEvent,
    S.CANCELLED: SessionCancelledEvent,
    S.ERROR: SessionFailureEvent,
}


async def announce(ctx: RootContext, session_id: uuid.UUID, change: tuple[SessionStatus, SessionStatus] | None,
                   reason: str = "") -> None:
    """Produce the event for a status change (None: nothing changed); never raises."""
    if change is None:
        return
    cls = EVENT_FOR_STATUS.get(change[1])
    if cls is None:
        return
    try:
        await ctx.event_producer.produce_event(cls(session_id=session_id, reason=reason))
    except Exception as e:
        log.warning("could not announce %s of session %s: %r", change[1], session_id, e)
