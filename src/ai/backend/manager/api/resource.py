"""`/resource`: resource presets and which of them the caller can allocate now."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..services import resources
from .utils import (
    auth_required,
    check_params,
    json_response,
    requester,
    resolve_owner,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()


@routes.get("/resource/presets")
@auth_required
@check_params(t.Dict({t.Key("scaling_group", default=None): t.Null | t.String}).allow_extra("*"))
async def list_presets(request: web.Request, params: dict[str, Any]) -> web.Response:
    async with root_ctx(request).db.connect() as conn:
        rows = await resources.list_presets(conn, params["scaling_group"])
    return json_response({"presets": [resources.preset_json(r) for r in rows]})


@routes.post("/resource/check-presets")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("scaling_group", default=None): t.Null | t.String,
    t.Key("group", default="default"): t.String,
    t.Key("owner_access_key", default=None): t.Null | t.String,
}).allow_extra("*"))
async def check_presets(request: web.Request, params: dict[str, Any]) -> web.Response:
    ctx = root_ctx(request)
    owner = await resolve_owner(request, params["owner_access_key"])
    known = await ctx.shared_config.get_resource_slots()
    report = await resources.check_presets(
        ctx.db, known, owner, params["group"], params["scaling_group"],
        admin_override=requester(request).can_manage_domain(owner.domain_name),
    )
    return json_response(report)
