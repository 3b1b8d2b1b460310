"""Wait until a new session starts (or fails), for `POST /session` without enqueueOnly.

The database row is the truth; lifecycle events only say "look again now". Each waiter reads
the session's status, then sleeps until an event for that session arrives or a short poll
interval passes, so a lost event delays the answer by at most one interval and never hangs it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.events import EventDispatcher
from ai.backend.common.events.session import (
    SessionCancelledEvent,
    SessionFailureEvent,
    SessionLifecycleEvent,
    SessionStartedEvent,
    SessionSuccessEvent,
    SessionTerminatedEvent,
    SessionTerminatingEvent,
)
from ai.backend.common.status import SessionStatus

from ..models import kernels, sessions
from .session_create import client_service_ports

POLL_INTERVAL = 1.0
TIMEOUT_STATUS = "TIMEOUT"
# The request stops waiting once the session reaches one of these.
SETTLED_STATUSES = frozenset({
    SessionStatus.RUNNING, SessionStatus.RUNNING_DEGRADED, SessionStatus.ERROR, SessionStatus.TERMINATING,
    SessionStatus.TERMINATED, SessionStatus.CANCELLED,
})
_WAKING_EVENTS: tuple[type[SessionLifecycleEvent], ...] = (
    SessionStartedEvent, SessionTerminatingEvent, SessionTerminatedEvent, SessionCancelledEvent,
    SessionSuccessEvent, SessionFailureEvent,
)


class SessionWaiters:
    """Per-process registry of requests waiting on sessions, woken by broadcast events."""

    def __init__(self) -> None:
        self._waiting: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)

    def attach(self, dispatcher: EventDispatcher) -> None:
        for cls in _WAKING_EVENTS:
            dispatcher.subscribe(cls, self, _on_event)

    def wake(self, session_id: uuid.UUID) -> None:
        for ev in self._waiting.get(session_id, ()):
            ev.set()

    async def wait_settled(self, db: AsyncEngine, session_id: uuid.UUID, max_wait: float,
                           *, poll: float = POLL_INTERVAL) -> tuple[str, list[dict[str, Any]]]:
        """(status, service ports) once settled, or ("TIMEOUT", []) after max_wait (0 = forever)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait if max_wait > 0 else None
        ev = asyncio.Event()
        self._waiting[session_id].add(ev)
        try:
            while True:
                ev.clear()
                status, ports = await _current(db, session_id)
                if status is None:
                    return SessionStatus.TERMINATED.value, []
                if status in SETTLED_STATUSES:
                    return status.value, ports if status.value.startswith("RUNNING") else []
                timeout = poll
                if deadline is not None:
                    left = deadline - loop.time()
                    if left <= 0:
                        return TIMEOUT_STATUS, []
                    timeout = min(poll, left)
                try:
                    await asyncio.wait_for(ev.wait(), timeout)
                except TimeoutError:
                    pass
        finally:
            waiters = self._waiting.get(session_id)
            if waiters is not None:
                waiters.discard(ev)
                if not waiters:
                    del self._waiting[session_id]


async def _on_event(waiters: SessionWaiters, source: str, event: SessionLifecycleEvent) -> None:
    waiters.wake(event.session_id)


async def _current(db: AsyncEngine, session_id: uuid.UUID) -> tuple[SessionStatus | None, list[dict[str, Any]]]:
    async with db.connect() as conn:
        row = (await conn.execute(
            sa.select(sessions.c.status, kernels.c.service_ports)
            .select_from(sessions.outerjoin(kernels, (kernels.c.session_id == sessions.c.id)
                                            & (kernels.c.cluster_role == "main")))
            .where(sessions.c.id == session_id)
        )).first()
    if row is None:
        return None, []
    return row.status, client_service_ports(row.service_ports)
