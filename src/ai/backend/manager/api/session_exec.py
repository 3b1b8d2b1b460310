"""`POST /session/{name}` execute (query/batch/continue/input), interrupt and complete.

The legacy `/kernel/...` paths are aliases. A body without `mode` but with cursor options
is the old completion call some clients still send to the execute path.
"""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..services import session_exec
from ..services.session_target import KernelTarget, find_target
from .utils import (
    auth_required,
    check_params,
    json_response,
    resolve_owner,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()


execute_t = t.Dict({
    t.Key("mode", optional=True): t.Null | t.String,
    t.Key("code", default=""): t.Null | t.String(allow_blank=True),
    t.Key("runId", optional=True) >> "run_id": t.Null | t.String(allow_blank=True, max_length=64),
    t.Key("options", optional=True): t.Null | t.Mapping(t.String, t.Any),
    t.Key("owner_access_key", optional=True): t.Null | t.String,
}).allow_extra("*")
complete_t = t.Dict({
    t.Key("code", default=""): t.Null | t.String(allow_blank=True),
    t.Key("options", optional=True): t.Null | t.Mapping(t.String, t.Any),
    t.Key("owner_access_key", optional=True): t.Null | t.String,
}).allow_extra("*")
owner_only_t = t.Dict({t.Key("owner_access_key", optional=True): t.Null | t.String}).allow_extra("*")


async def target_of(request: web.Request, params: dict[str, Any]) -> KernelTarget:
    owner = await resolve_owner(request, params.get("owner_access_key"))
    return await find_target(root_ctx(request), owner.access_key, request.match_info["session_name"])


@routes.post("/session/{session_name}")
@routes.post("/kernel/{session_name}")
@auth_required
@server_status_required()
@check_params(execute_t)
async def execute(request: web.Request, params: dict[str, Any]) -> web.Response:
    target = await target_of(request, params)
    ctx = root_ctx(request)
    opts = dict(params.get("options") or {})
    mode = params.get("mode")
    if mode in (None, "", "complete"):
        return json_response({"result": await session_exec.complete(ctx, target, params["code"] or "", opts)})
    result = await session_exec.execute(ctx, target, run_id=params.get("run_id") or None, mode=str(mode),
                                        code=params["code"] or "", opts=opts)
    return json_response({"result": result})


@routes.post("/session/{session_name}/interrupt")
@routes.post("/kernel/{session_name}/interrupt")
@auth_required
@server_status_required()
@check_params(owner_only_t)
async def interrupt(request: web.Request, params: dict[str, Any]) -> web.Response:
    target = await target_of(request, params)
    await session_exec.interrupt(root_ctx(request), target)
    return web.Response(status=204)


@routes.post("/session/{session_name}/complete")
@routes.post("/kernel/{session_name}/complete")
@auth_required
@server_status_required()
@check_params(complete_t)
async def complete(request: web.Request, params: dict[str, Any]) -> web.Response:
    target = await target_of(request, params)
    result = await session_exec.complete(root_ctx(request), target, params["code"] or "",
                                         dict(params.get("options") or {}))
    return json_response({"result": result})
