"""`/folders`: create, list, describe, rename, update options, clone and delete vfolders.

The module's lifecycle closes the storage proxy clients when the manager stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trafaret as t
from aiohttp import web

from ..context import ROOT_CTX
from ..errors import InvalidAPIParameters
from ..models import VFolderPermission, VFolderUsageMode
from ..services import vfolders
from ..services.storage_proxies import close_storage_proxies
from .utils import (
    ToUUID,
    auth_required,
    check_params,
    json_response,
    root_ctx,
    server_status_required,
)
from .vfolder_params import Size, accessor, permission_t, usage_mode_t

routes = web.RouteTableDef()


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await close_storage_proxies(app[ROOT_CTX])


@routes.post("/folders")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("name"): t.String,
    t.Key("host", default=None): t.Null | t.String(allow_blank=True),
    t.Key("group", default=None): t.Null | t.String(allow_blank=True),
    t.Key("groupId", optional=True): t.Null | t.String,
    t.Key("group_id", optional=True): t.Null | t.String,
    t.Key("usage_mode", default="general"): t.Null | usage_mode_t,
    t.Key("permission", default="rw"): t.Null | permission_t,
    t.Key("unmanaged_path", default=None): t.Null | t.String(allow_blank=True),
    t.Key("quota", default=None): Size(),
    t.Key("cloneable", default=False): t.ToBool,
}).allow_extra("*"), query_too=False)
async def create(request: web.Request, params: dict[str, Any]) -> web.Response:
    if params["unmanaged_path"]:
        raise InvalidAPIParameters("unmanaged vfolders (unmanaged_path) are not supported; "
                                   "create the vfolder on a storage host")
    group = params["group"] or params.get("group_id") or params.get("groupId") or None
    spec = vfolders.NewVFolder(
        name=params["name"], host=params["host"] or None, group=group,
        usage_mode=params["usage_mode"] or VFolderUsageMode.GENERAL,
        permission=params["permission"] or VFolderPermission.READ_WRITE,
        quota=params["quota"], cloneable=params["cloneable"],
    )
    return json_response(await vfolders.create(root_ctx(request), accessor(request), spec), status=201)


@routes.get("/folders")
@auth_required
@check_params(t.Dict({
    t.Key("all", default=False): t.ToBool,
    t.Key("group_id", optional=True): t.Null | ToUUID(), t.Key("groupId", optional=True): t.Null | ToUUID(),
    t.Key("owner_user_email", optional=True): t.Null | t.Email,
    t.Key("ownerUserEmail", optional=True): t.Null | t.Email,
}).allow_extra("*"))
async def list_folders(request: web.Request, params: dict[str, Any]) -> web.Response:
    if params["all"]:
        raise InvalidAPIParameters("all=true is not supported; admins list every vfolder with the "
                                   "vfolder_list GraphQL query")
    group_id = params.get("group_id") or params.get("groupId")
    owner_email = params.get("owner_user_email") or params.get("ownerUserEmail")
    return json_response(await vfolders.list_folders(root_ctx(request), accessor(request), group_id=group_id,
                                                     owner_email=owner_email))


@routes.delete("/folders")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("id"): ToUUID()}).allow_extra("*"))
async def delete_by_id(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolders.delete(root_ctx(request), accessor(request), str(params["id"]), by_id=params["id"])
    return web.Response(status=204)


@routes.get("/folders/{name}")
@auth_required
async def get_info(request: web.Request) -> web.Response:
    return json_response(await vfolders.info(root_ctx(request), accessor(request), request.match_info["name"]))


@routes.delete("/folders/{name}")
@auth_required
@server_status_required()
async def delete(request: web.Request) -> web.Response:
    await vfolders.delete(root_ctx(request), accessor(request), request.match_info["name"])
    return web.Response(status=204)


@routes.post("/folders/{name}/rename")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("new_name"): t.String}).allow_extra("*"))
async def rename(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolders.rename(root_ctx(request), accessor(request), request.match_info["name"], params["new_name"])
    return json_response({}, status=201)


@routes.post("/folders/{name}/update-options")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("cloneable", default=None): t.Null | t.ToBool,
    t.Key("permission", default=None): t.Null | permission_t,
}).allow_extra("*"))
async def update_options(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolders.update_options(root_ctx(request), accessor(request), request.match_info["name"],
                                  cloneable=params["cloneable"], permission=params["permission"])
    return json_response({}, status=201)


@routes.post("/folders/{name}/clone")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("target_name"): t.String,
    t.Key("target_host", default=None): t.Null | t.String(allow_blank=True),
    t.Key("usage_mode", default="general"): t.Null | usage_mode_t,
    t.Key("permission", default="rw"): t.Null | permission_t,
    t.Key("cloneable", default=False): t.ToBool,
}).allow_extra("*"))
async def clone(request: web.Request, params: dict[str, Any]) -> web.Response:
    item = await vfolders.clone(
        root_ctx(request), accessor(request), request.match_info["name"], target_name=params["target_name"],
        target_host=params["target_host"] or None,
        usage_mode=params["usage_mode"] or VFolderUsageMode.GENERAL,
        permission=params["permission"] or VFolderPermission.READ_WRITE, cloneable=params["cloneable"],
    )
    return json_response(item, status=201)
