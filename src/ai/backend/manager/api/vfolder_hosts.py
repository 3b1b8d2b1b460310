"""`/folders/_/...`: storage hosts and vfolder types, quota scopes and usage by vfolder id.

Registered before the `/folders/{name}/...` routes so `_` is never taken for a vfolder name.
"""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..services import vfolder_hosts, vfolder_usage
from .utils import (
    ToUUID,
    auth_required,
    check_params,
    json_response,
    root_ctx,
    server_status_required,
    superadmin_required,
)
from .vfolder_params import accessor

routes = web.RouteTableDef()

_by_id = t.Dict({t.Key("folder_host"): t.String, t.Key("id"): ToUUID()}).allow_extra("*")


@routes.get("/folders/_/hosts")
@auth_required
@check_params(t.Dict({
    t.Key("group_id", optional=True): t.Null | ToUUID(),
    t.Key("groupId", optional=True): t.Null | ToUUID(),
}).allow_extra("*"))
async def list_hosts(request: web.Request, params: dict[str, Any]) -> web.Response:
    group_id = params.get("group_id") or params.get("groupId")
    return json_response(await vfolder_hosts.list_hosts(root_ctx(request), accessor(request), group_id=group_id))


@routes.get("/folders/_/all-hosts")
@routes.get("/folders/_/all_hosts")
@superadmin_required
async def list_all_hosts(request: web.Request) -> web.Response:
    return json_response(await vfolder_hosts.all_hosts(root_ctx(request)))


@routes.get("/folders/_/allowed-types")
@routes.get("/folders/_/allowed_types")
@auth_required
async def list_allowed_types(request: web.Request) -> web.Response:
    return json_response(await root_ctx(request).shared_config.get_vfolder_types())


@routes.get("/folders/_/quota")
@auth_required
@check_params(_by_id)
async def get_quota(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await vfolder_usage.get_quota(root_ctx(request), accessor(request),
                                                       params["folder_host"], params["id"]))


@routes.post("/folders/_/quota")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("folder_host"): t.String, t.Key("id"): ToUUID(),
    t.Key("input"): t.Dict({t.Key("size_bytes"): t.ToInt(gte=0)}).allow_extra("*"),
}).allow_extra("*"))
async def set_quota(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await vfolder_usage.set_quota(root_ctx(request), accessor(request), params["folder_host"],
                                                       params["id"], params["input"]["size_bytes"]))


@routes.get("/folders/_/usage")
@auth_required
@check_params(_by_id)
async def get_usage(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await vfolder_usage.usage(root_ctx(request), accessor(request),
                                                   params["folder_host"], params["id"]))


@routes.get("/folders/_/used-bytes")
@auth_required
@check_params(_by_id)
async def get_used_bytes(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await vfolder_usage.used_bytes(root_ctx(request), accessor(request),
                                                        params["folder_host"], params["id"]))
