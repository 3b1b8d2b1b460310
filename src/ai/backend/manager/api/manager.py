"""`/manager`: the running/frozen status and the cluster-wide announcement."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from .. import __version__
from ..errors import InvalidAPIParameters
from ..services import cluster
from ..types import LATEST_API_VERSION_STR
from .utils import auth_required, check_params, json_response, root_ctx, superadmin_required

routes = web.RouteTableDef()


@routes.get("/manager/status")
@auth_required
async def fetch_status(request: web.Request) -> web.Response:
    ctx = root_ctx(request)
    mgr = ctx.local_config["manager"]
    status = await ctx.shared_config.get_manager_status()
    active = await cluster.count_active_sessions(ctx.db)
    node = {
        "id": ctx.node_id,
        "num_proc": mgr["num-proc"],
        "service_addr": str(mgr["service-addr"]),
        "heartbeat_timeout": mgr["heartbeat-timeout"],
        "ssl_enabled": mgr["ssl-enabled"],
        "active_sessions": active,
        "status": status,
        "version": __version__,
        "api_version": LATEST_API_VERSION_STR,
    }
    return json_response({"nodes": [node], "status": status, "active_sessions": active})


@routes.put("/manager/status")
@superadmin_required
@check_params(t.Dict({
    t.Key("status"): t.Enum(*cluster.MANAGER_STATUSES),
    t.Key("force_kill", default=False): t.ToBool,
}), query_too=False)
async def update_status(request: web.Request, params: dict[str, Any]) -> web.Response:
    ctx = root_ctx(request)
    if params["status"] == "frozen" and params["force_kill"]:
        await cluster.request_termination_of_all(ctx.db, ctx.event_producer, "manager frozen with force_kill")
    await ctx.shared_config.set_manager_status(params["status"])
    return web.Response(status=204)


@routes.get("/manager/announcement")
async def get_announcement(request: web.Request) -> web.Response:
    return json_response(await root_ctx(request).shared_config.get_announcement())


@routes.post("/manager/announcement")
@superadmin_required
@check_params(t.Dict({
    t.Key("enabled", default=False): t.ToBool,
    t.Key("message", default=None): t.Null | t.String(allow_blank=True),
}), query_too=False)
async def update_announcement(request: web.Request, params: dict[str, Any]) -> web.Response:
    if params["enabled"] and not params["message"]:
        raise InvalidAPIParameters("message is required to enable the announcement")
    await root_ctx(request).shared_config.set_announcement(params["enabled"], params["message"] or "")
    return web.Response(status=204)
