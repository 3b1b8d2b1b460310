"""What `/events/session` and `/events/background-task` stream, and to whom.

Events arrive on the broadcast side of the event bus (every manager process sees them); each
listener keeps its own queue and sees only the events of sessions its caller may watch: one
named session of the owner, or with `*` every session in the caller's scope (own keypair for
users, the domain for domain admins, everything for superadmins), optionally one project.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ai.backend.common.events import AbstractEvent
from ai.backend.common.events import bgtask as bgtask_events
from ai.backend.common.events import kernel as kernel_events
from ai.backend.common.events import session as session_events
from ai.backend.common.status import SessionStatus

from ..context import RootContext
from ..errors import InvalidAPIParameters
from ..models import kernels, sessions
from ..types import Requester

SESSION_EVENTS: tuple[type[AbstractEvent], ...] = (
    session_events.SessionEnqueuedEvent, session_events.SessionScheduledEvent,
    session_events.SessionPreparingEvent, session_events.SessionPullingEvent,
    session_events.SessionCreatingEvent, session_events.SessionStartedEvent,
    session_events.SessionTerminatingEvent, session_events.SessionTerminatedEvent,
    session_events.SessionCancelledEvent, session_events.SessionSuccessEvent,
    session_events.SessionFailureEvent,
)
KERNEL_EVENTS: tuple[type[AbstractEvent], ...] = (
    kernel_events.KernelPreparingEvent, kernel_events.KernelPullingEvent, kernel_events.KernelCreatingEvent,
    kernel_events.KernelStartedEvent, kernel_events.KernelCancelledEvent,
    kernel_events.KernelTerminatingEvent, kernel_events.KernelTerminatedEvent,
)
BGTASK_EVENTS: tuple[type[AbstractEvent], ...] = (
    bgtask_events.BgtaskUpdatedEvent, bgtask_events.BgtaskDoneEvent,
    bgtask_events.BgtaskFailedEvent, bgtask_events.BgtaskCancelledEvent,
)
# After these the watched session has nothing more to report.
SESSION_END_EVENTS = frozenset({"session_terminated", "session_cancelled"})
BGTASK_END_EVENTS = frozenset({"bgtask_done", "bgtask_failed", "bgtask_cancelled"})
SCOPES = {"*": SESSION_EVENTS + KERNEL_EVENTS, "session": SESSION_EVENTS, "kernel": KERNEL_EVENTS}


@asynccontextmanager
async def listen(ctx: RootContext, event_classes: Iterable[type[AbstractEvent]]) -> AsyncIterator[asyncio.Queue[AbstractEvent]]:
    """A queue receiving every broadcast event of these types while the context is open."""
    queue: asyncio.Queue[AbstractEvent] = asyncio.Queue(maxsize=10_000)

    async def enqueue(_ctx: Any, _source: str, event: AbstractEvent) -> None:
        if not queue.full():
            queue.put_nowait(event)

    handlers = [ctx.event_dispatcher.subscribe(cls, None, enqueue) for cls in event_classes]
    try:
        yield queue
    finally:
        for h in handlers:
            ctx.event_dispatcher.unsubscribe(h)


@dataclass(frozen=True)
class WatchedSession:
    id: uuid.UUID
    name: str
    access_key: str
    domain_name: str
    group_id: uuid.UUID
    status: SessionStatus
    result: str


def watched(row: Any) -> WatchedSession:
    return WatchedSession(row.id, row.name, row.access_key, row.domain_name, row.group_id,
                          SessionStatus(row.status), str(getattr(row.result, "value", row.result)))


class SessionInfoCache:
    """Who owns a session (and where a kernel sits in it), shared by every listener of this
    process for a few seconds.

    One event reaches all open streams at once; without sharing, each stream would query the
    database for the same row (a burst that queues on the connection pool). Concurrent
    lookups of one row share a single query.
    """

    TTL = 5.0
    MAX_ENTRIES = 10_000

    def __init__(self, ctx: RootContext) -> None:
        self.ctx = ctx
        self._entries: dict[tuple[str, uuid.UUID], tuple[float, asyncio.Future[Any]]] = {}

    @classmethod
    def of(cls, ctx: RootContext) -> SessionInfoCache:
        cache = ctx.extensions.get("session_info_cache")
        if cache is None:
            cache = ctx.extensions["session_info_cache"] = cls(ctx)
        return cache  # type: ignore[no-any-return]

    async def get(self, session_id: uuid.UUID) -> WatchedSession | None:
        async def load() -> WatchedSession | None:
            async with self.ctx.db.connect() as conn:
                row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).first()
            return watched(row) if row is not None else None

        result: WatchedSession | None = await self._cached(("session", session_id), load)
        return result

    async def kernel_place(self, kernel_id: uuid.UUID) -> tuple[str, int] | None:
        """(cluster_role, cluster_idx) of a kernel."""
        async def load() -> tuple[str, int] | None:
            async with self.ctx.db.connect() as conn:
                k = (await conn.execute(sa.select(kernels.c.cluster_role, kernels.c.cluster_idx)
                                        .where(kernels.c.id == kernel_id))).first()
            return (str(k.cluster_role), int(k.cluster_idx)) if k is not None else None

        result: tuple[str, int] | None = await self._cached(("kernel", kernel_id), load)
        return result

    async def _cached(self, key: tuple[str, uuid.UUID], load: Any) -> Any:
        loop = asyncio.get_running_loop()
        now = loop.time()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] <= self.TTL:
            return await asyncio.shield(entry[1])
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self.TTL}
        fut: asyncio.Future[Any] = loop.create_future()
        self._entries[key] = (now, fut)
        try:
            value = await load()
        except BaseException as e:
            self._entries.pop(key, None)
            fut.set_exception(e)
            fut.exception()   # marked as retrieved; the waiters re-raise it
            raise
        fut.set_result(value)
        if value is None:
            # not (yet) committed, e.g. an event racing its row: ask again next time
            self._entries.pop(key, None)
        return value


class SessionFilter:
    """Decides which events a listener sees; caches the sessions it has looked up."""

    def __init__(self, ctx: RootContext, requester: Requester, *, session: WatchedSession | None,
                 group_id: uuid.UUID | None = None) -> None:
        self.ctx = ctx
        self.requester = requester
        self.session = session
        self.group_id = group_id

    def _visible(self, s: WatchedSession) -> bool:
        r = self.requester
        if self.group_id is not None and s.group_id != self.group_id:
            return False
        if r.is_superadmin:
            return True
        if r.is_admin:
            return s.domain_name == r.domain_name
        return s.access_key == r.access_key

    async def lookup(self, session_id: uuid.UUID) -> WatchedSession | None:
        return await SessionInfoCache.of(self.ctx).get(session_id)

    async def accept(self, event: AbstractEvent) -> WatchedSession | None:
        sid = getattr(event, "session_id", None)
        if not isinstance(sid, uuid.UUID):
            return None
        if self.session is not None:
            return self.session if sid == self.session.id else None
        found = await self.lookup(sid)
        return found if found is not None and self._visible(found) else None


async def payload(ctx: RootContext, event: AbstractEvent, s: WatchedSession) -> dict[str, Any]:
    """The JSON data of one `/events/session` message."""
    data: dict[str, Any] = {
        "sessionId": str(s.id), "sessionName": s.name, "ownerAccessKey": s.access_key,
        "reason": getattr(event, "reason", "") or "",
    }
    kid = getattr(event, "kernel_id", None)
    if kid is not None:
        data["kernelId"] = str(kid)
        place = await SessionInfoCache.of(ctx).kernel_place(kid)
        if place is not None:
            data["clusterRole"], data["clusterIdx"] = place
    if hasattr(event, "exit_code"):
        data["exitCode"] = event.exit_code
    if event.name == "session_terminated":
        async with ctx.db.connect() as conn:
            result = (await conn.execute(sa.select(sessions.c.result).where(sessions.c.id == s.id))).scalar()
        data["result"] = str(getattr(result, "value", result) or "UNDEFINED")
    return data


def bgtask_payload(event: AbstractEvent) -> dict[str, Any]:
    return {
        "task_id": str(getattr(event, "task_id", "")),
        "message": getattr(event, "message", None),
        "current_progress": getattr(event, "current_progress", 0),
        "total_progress": getattr(event, "total_progress", 0),
    }


def scope_events(scope: str | None) -> tuple[type[AbstractEvent], ...]:
    try:
        return SCOPES[scope or "*"]
    except KeyError:
        raise InvalidAPIParameters(f"scope: {scope!r} is not one of *, session, kernel") from None
