"""Server-sent event streams: `/events/session` (session and kernel lifecycle) and
`/events/background-task` (bgtask progress), each ending with `server_close` once there is
nothing more to report."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from ai.backend.common.events import AbstractEvent

from ..context import ROOT_CTX, RootContext
from ..errors import InvalidAPIParameters, ObjectNotFound, SessionNotFound
from ..models import groups, sessions
from ..services import bgtask, session_events
from ..services.session_lookup import as_session_id, resolve_session
from .utils import auth_required, requester, resolve_owner, root_ctx

routes = web.RouteTableDef()
KEEPALIVE = 15.0   # a comment line this often keeps proxies from closing an idle stream
POLL = 1.0


def closing(ctx: RootContext) -> asyncio.Event:
    """Set when this process begins to shut down: open streams end (without server_close, so
    clients reconnect to another manager process)."""
    event: asyncio.Event = ctx.extensions.setdefault("event_streams_closing", asyncio.Event())
    return event


async def on_shutdown(app: web.Application) -> None:
    closing(app[ROOT_CTX]).set()


async def _open_stream(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive",
        "X-Accel-Buffering": "no",
    })
    await resp.prepare(request)
    return resp


async def _send(resp: web.StreamResponse, event: str, data: Any) -> None:
    await resp.write(f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode())


async def _next_event(request: web.Request, resp: web.StreamResponse,
                      queue: asyncio.Queue[AbstractEvent]) -> AbstractEvent | None:
    """The next queued event; None once the client has gone (checked every second, so a
    closed stream does not hold its handler until the next keepalive)."""
    idle = 0.0
    while True:
        try:
            return await asyncio.wait_for(queue.get(), POLL)
        except TimeoutError:
            pass
        if request.transport is None or request.transport.is_closing() or closing(root_ctx(request)).is_set():
            return None
        idle += POLL
        if idle >= KEEPALIVE:
            idle = 0.0
            await resp.write(b": keepalive\n\n")


async def _group_id(request: web.Request, name: str | None) -> uuid.UUID | None:
    if not name or name == "*":
        return None
    r = requester(request)
    query = sa.select(groups.c.id).where(groups.c.name == name)
    if not r.is_superadmin:
        query = query.where(groups.c.domain_name == r.domain_name)
    async with root_ctx(request).db.connect() as conn:
        gid = (await conn.execute(query)).scalar()
    if gid is None:
        raise ObjectNotFound(f"no project {name!r}", object_name="project")
    return uuid.UUID(str(gid))


async def _watched_session(request: web.Request, owner_access_key: str, name: str) -> session_events.WatchedSession:
    """The owner's session; an admin naming a session by UUID (as the CLI does with an id)
    also reaches the sessions of other keypairs in the admin's scope."""
    ctx = root_ctx(request)
    async with ctx.db.connect() as conn:
        try:
            return session_events.watched(await resolve_session(conn, owner_access_key, name))
        except SessionNotFound:
            sid = as_session_id(name)
            if sid is None or not requester(request).is_admin:
                raise
            row = (await conn.execute(sa.select(sessions).where(sessions.c.id == sid))).first()
    found = session_events.watched(row) if row is not None else None
    if found is None or not requester(request).can_manage_domain(found.domain_name):
        raise SessionNotFound(f"no session {name!r}")
    return found


@routes.get("/events/session")
@routes.get("/stream/session/_/events")
@auth_required
async def session_stream(request: web.Request) -> web.StreamResponse:
    ctx, q = root_ctx(request), request.query
    name = q.get("sessionName") or q.get("name") or q.get("sessionId") or q.get("session_id") or "*"
    classes = session_events.scope_events(q.get("scope"))
    owner = await resolve_owner(request, q.get("ownerAccessKey") or q.get("owner_access_key") or None)
    group_id = await _group_id(request, q.get("group"))
    async with session_events.listen(ctx, classes) as queue:
        watched = None
        if name != "*":   # looked up after subscribing, so no event falls in between
            watched = await _watched_session(request, owner.access_key, name)
        filt = session_events.SessionFilter(ctx, requester(request), session=watched, group_id=group_id)
        resp = await _open_stream(request)
        try:
            if watched is not None and watched.status.is_terminal:
                await _send(resp, "server_close", {})
                return resp
            while True:
                event = await _next_event(request, resp, queue)
                if event is None:
                    break
                s = await filt.accept(event)
                if s is None:
                    continue
                await _send(resp, event.name, await session_events.payload(ctx, event, s))
                if watched is not None and event.name in session_events.SESSION_END_EVENTS:
                    await _send(resp, "server_close", {})
                    break
        except ConnectionResetError:
            pass   # the client went away
    return resp


@routes.get("/events/background-task")
@auth_required
async def bgtask_stream(request: web.Request) -> web.StreamResponse:
    ctx = root_ctx(request)
    given = request.query.get("taskId") or request.query.get("task_id")
    try:
        task_id = uuid.UUID(str(given))
    except ValueError:
        raise InvalidAPIParameters(f"taskId: {given!r} is not a background task id") from None
    async with session_events.listen(ctx, session_events.BGTASK_EVENTS) as queue:
        raw = await ctx.redis.live.hgetall(bgtask.state_key(task_id))
        if not raw:
            raise ObjectNotFound(f"no background task {task_id} (unknown or expired)", object_name="background task")
        state: dict[str, str] = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                                 for k, v in raw.items()}
        resp = await _open_stream(request)
        try:
            if state.get("status") in ("done", "failed", "cancelled"):
                await _send(resp, f"bgtask_{state['status']}", {
                    "task_id": str(task_id), "message": state.get("msg"), "current_progress": 0, "total_progress": 0})
                await _send(resp, "server_close", {})
                return resp
            while True:
                event = await _next_event(request, resp, queue)
                if event is None:
                    break
                if getattr(event, "task_id", None) != task_id:
                    continue
                await _send(resp, event.name, session_events.bgtask_payload(event))
                if event.name in session_events.BGTASK_END_EVENTS:
                    await _send(resp, "server_close", {})
                    break
        except ConnectionResetError:
            pass   # the client went away
    return resp
