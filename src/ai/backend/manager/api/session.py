"""`/session`: create (also from a template), get info, destroy, restart, rename, status
history and dependency graph, with their legacy `/kernel` aliases.

Execution, files, logs and streaming live in other modules; this one only manages the
session's existence. Handlers parse, resolve the owner keypair (owner_access_key for admins)
and call the session services.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trafaret as t
from aiohttp import web

from ..context import ROOT_CTX
from ..errors import InsufficientPrivilege, InvalidAPIParameters
from ..services import session_ops
from ..services import session_templates as template_service
from ..services.session_create import enqueue_session
from ..services.session_from_template import merge_request
from ..services.session_lookup import find_session
from ..services.session_params import parse_creation_request
from ..services.session_termination import destroy_session
from ..services.session_wait import SessionWaiters
from .utils import (
    auth_required,
    check_params,
    json_response,
    read_params,
    requester,
    resolve_owner,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()
WAITERS_KEY = "session_waiters"


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    ctx = app[ROOT_CTX]
    waiters = SessionWaiters()
    waiters.attach(ctx.event_dispatcher)
    ctx.extensions[WAITERS_KEY] = waiters
    yield


def _waiters(request: web.Request) -> SessionWaiters:
    ctx = root_ctx(request)
    waiters = ctx.extensions.get(WAITERS_KEY)
    if waiters is None:   # the module's lifecycle did not run (a trimmed app in tests)
        waiters = ctx.extensions[WAITERS_KEY] = SessionWaiters()
    return waiters  # type: ignore[no-any-return]


_owner_only = t.Dict({t.Key("owner_access_key", default=None): t.Null | t.String}).allow_extra("*")
_bool = t.ToBool() | t.Null
_destroy_params = t.Dict({
    t.Key("owner_access_key", default=None): t.Null | t.String,
    t.Key("forced", default=False): _bool,
    t.Key("recursive", default=False): _bool,
}).allow_extra("*")
_rename_params = t.Dict({
    t.Key("name", default=None) >> "name": t.Any,
    t.Key("session_name", default=None) >> "session_name": t.Any,
    t.Key("owner_access_key", default=None): t.Null | t.String,
}).allow_extra("*")


# --- create -------------------------------------------------------------------------------------

async def _create(request: web.Request, params: dict[str, Any]) -> web.Response:
    ctx = root_ctx(request)
    req = parse_creation_request(params)
    owner = await resolve_owner(request, req.owner_access_key)
    result = await enqueue_session(ctx, requester(request), owner, req)
    if result.created and not req.enqueue_only:
        result.status, result.service_ports = await _waiters(request).wait_settled(
            ctx.db, result.session_id, float(req.max_wait_seconds))
    return json_response(result.as_json(), status=201 if result.created else 200)


@auth_required
@server_status_required(allow_read=False)
async def create(request: web.Request) -> web.Response:
    return await _create(request, await read_params(request))


@routes.post("/session/_/create-from-template")
@routes.post("/session/create-from-template")
@routes.post("/kernel/_/create-from-template")
@auth_required
@server_status_required(allow_read=False)
async def create_from_template(request: web.Request) -> web.Response:
    params = await read_params(request)
    template_id = params.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        raise InvalidAPIParameters("template_id: required (the id of a session template)",
                                   data={"field": "template_id"})
    owner_key = params.get("owner_access_key")
    owner = await resolve_owner(request, owner_key if isinstance(owner_key, str) else None)
    template = await template_service.get(root_ctx(request).db, requester(request), owner, template_id)
    return await _create(request, merge_request(template, params))


for _path in ("/session", "/session/create", "/session/_/create", "/kernel/create"):
    routes.post(_path)(create)


# --- per-session --------------------------------------------------------------------------------

@auth_required
@check_params(_owner_only)
async def get_info(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    async with root_ctx(request).db.connect() as conn:
        info = await session_ops.get_info(conn, owner.access_key, request.match_info["session_name"])
    return json_response(info)


@auth_required
@server_status_required(allow_read=False)
@check_params(_destroy_params)
async def destroy(request: web.Request, params: dict[str, Any]) -> web.Response:
    ctx = root_ctx(request)
    if params["forced"] and not requester(request).is_admin:
        # forced finalizes kernels the agent could not confirm gone: an operator's decision
        raise InsufficientPrivilege("forced: only admins may force-terminate sessions")
    owner = await resolve_owner(request, params["owner_access_key"])
    async with ctx.db.connect() as conn:
        row = await find_session(conn, owner.access_key, request.match_info["session_name"])
    result = await destroy_session(ctx, row.id, forced=bool(params["forced"]),
                                   recursive=bool(params["recursive"]), reason="user-requested")
    body = result if isinstance(result, dict) and "stats" in result else {"stats": result or {}}
    return json_response(body)


@auth_required
@server_status_required(allow_read=False)
@check_params(_owner_only)
async def restart(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    await session_ops.restart(root_ctx(request), owner.access_key, request.match_info["session_name"])
    return web.Response(status=204)


@auth_required
@server_status_required(allow_read=False)
@check_params(_rename_params)
async def rename(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    new_name = params["name"] if params["name"] is not None else params["session_name"]
    async with root_ctx(request).db.begin() as conn:
        await session_ops.rename(conn, owner.access_key, request.match_info["session_name"], new_name)
    return web.Response(status=204)


@auth_required
@check_params(_owner_only)
async def status_history(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    async with root_ctx(request).db.connect() as conn:
        row = await find_session(conn, owner.access_key, request.match_info["session_name"], allow_stale=True)
    return json_response({"result": session_ops.status_history_map(row.status_history)})


@auth_required
@check_params(_owner_only)
async def dependency_graph(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    async with root_ctx(request).db.connect() as conn:
        graph = await session_ops.dependency_graph(conn, owner.access_key, request.match_info["session_name"])
    return json_response(graph)


for _prefix in ("/session", "/kernel"):
    routes.get(_prefix + "/{session_name}")(get_info)
    routes.delete(_prefix + "/{session_name}")(destroy)
    routes.patch(_prefix + "/{session_name}")(restart)
    routes.post(_prefix + "/{session_name}/rename")(rename)
    routes.get(_prefix + "/{session_name}/status-history")(status_history)
    routes.get(_prefix + "/{session_name}/dependency-graph")(dependency_graph)
