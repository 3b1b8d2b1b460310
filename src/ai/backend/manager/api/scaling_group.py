"""`/scaling-groups`: the resource groups the caller may use for a project."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..errors import ObjectNotFound
from ..services import groups as group_service
from ..services import scaling_groups as sgroup_service
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

_params = t.Dict({
    t.Key("group"): t.String,
    t.Key("owner_access_key", default=None): t.Null | t.String,
}).allow_extra("*")


@routes.get("/scaling-groups")
@auth_required
@server_status_required()
@check_params(_params)
async def list_available(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    async with root_ctx(request).db.connect() as conn:
        grp = await group_service.resolve_for_owner(
            conn, owner, params["group"], admin_override=requester(request).can_manage_domain(owner.domain_name))
        names = await sgroup_service.allowed_names(
            conn, domain_name=owner.domain_name, group_id=grp.id, access_key=owner.access_key)
    return json_response({"scaling_groups": [{"name": n} for n in names]})


@routes.get("/scaling-groups/{scaling_group}/wsproxy-version")
@auth_required
@server_status_required()
@check_params(_params)
async def get_wsproxy_version(request: web.Request, params: dict[str, Any]) -> web.Response:
    name = request.match_info["scaling_group"]
    owner = await resolve_owner(request, params["owner_access_key"])
    async with root_ctx(request).db.connect() as conn:
        grp = await group_service.resolve_for_owner(
            conn, owner, params["group"], admin_override=requester(request).can_manage_domain(owner.domain_name))
        names = await sgroup_service.allowed_names(
            conn, domain_name=owner.domain_name, group_id=grp.id, access_key=owner.access_key)
        if name not in names:
            raise ObjectNotFound(object_name="scaling group")
        row = await sgroup_service.get(conn, name)
    # Without a wsproxy address the manager relays app traffic itself (the v1 protocol).
    return json_response({"wsproxy_version": "v2" if row.wsproxy_addr else "v1"})
