"""Sharing: `/folders/invitations/...`, `/folders/_/shared`, `/folders/_/change-ownership` and
`/folders/{name}/invite|share|unshare|leave`."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..errors import InvalidAPIParameters
from ..services import vfolder_sharing, vfolders
from .utils import (
    ToUUID,
    auth_required,
    check_params,
    json_response,
    root_ctx,
    server_status_required,
    superadmin_required,
)
from .vfolder_params import accessor, permission_t

routes = web.RouteTableDef()

_emails = t.List(t.String(max_length=256))


# --- invitations ----------------------------------------------------------------------------------

@routes.get("/folders/invitations/list")
@auth_required
async def list_invitations(request: web.Request) -> web.Response:
    items = await vfolder_sharing.received_invitations(root_ctx(request), accessor(request))
    return json_response({"invitations": items})


@routes.get("/folders/invitations/list-sent")
@routes.get("/folders/invitations/list_sent")
@auth_required
async def list_sent_invitations(request: web.Request) -> web.Response:
    items = await vfolder_sharing.sent_invitations(root_ctx(request), accessor(request))
    return json_response({"invitations": items})


@routes.post("/folders/invitations/accept")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("inv_id"): ToUUID()}).allow_extra("*"))
async def accept_invitation(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_sharing.accept_invitation(root_ctx(request), accessor(request), params["inv_id"])
    return json_response({})


@routes.delete("/folders/invitations/delete")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("inv_id"): ToUUID()}).allow_extra("*"))
async def delete_invitation(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_sharing.delete_invitation(root_ctx(request), accessor(request), params["inv_id"])
    return json_response({})


@routes.post("/folders/invitations/update/{inv_id}")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("perm", optional=True): permission_t, t.Key("permission", optional=True): permission_t,
}).allow_extra("*"))
async def update_invitation(request: web.Request, params: dict[str, Any]) -> web.Response:
    perm = params.get("perm") or params.get("permission")
    if perm is None:
        raise InvalidAPIParameters("perm: give the new permission (ro, rw or wd)")
    inv_id = ToUUID().check(request.match_info["inv_id"])
    await vfolder_sharing.update_invitation(root_ctx(request), accessor(request), inv_id, perm)
    return json_response({"msg": f"vfolder invitation updated: {inv_id}."})


# --- shares -----------------------------------------------------------------------------------

@routes.get("/folders/_/shared")
@auth_required
@check_params(t.Dict({
    t.Key("vfolder_id", optional=True): t.Null | ToUUID(), t.Key("vfolderId", optional=True): t.Null | ToUUID(),
}).allow_extra("*"))
async def list_shared(request: web.Request, params: dict[str, Any]) -> web.Response:
    vfolder_id = params.get("vfolder_id") or params.get("vfolderId")
    items = await vfolder_sharing.list_shared(root_ctx(request), accessor(request), vfolder_id)
    return json_response({"shared": items})


@routes.post("/folders/_/shared")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("vfolder"): ToUUID(), t.Key("user"): ToUUID(),
    t.Key("perm", optional=True): t.Null | permission_t, t.Key("permission", optional=True): t.Null | permission_t,
}).allow_extra("*"))
async def update_shared(request: web.Request, params: dict[str, Any]) -> web.Response:
    perm = params.get("perm") or params.get("permission")
    await vfolder_sharing.update_shared(root_ctx(request), accessor(request), params["vfolder"], params["user"], perm)
    return json_response({"msg": "shared vfolder permission updated" if perm else "shared vfolder permission removed"})


@routes.post("/folders/_/change-ownership")
@superadmin_required
@server_status_required()
@check_params(t.Dict({t.Key("vfolder"): ToUUID(), t.Key("user_email"): t.String}).allow_extra("*"))
async def change_ownership(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolders.change_ownership(root_ctx(request), accessor(request), params["vfolder"], params["user_email"])
    return json_response({})


@routes.post("/folders/{name}/invite")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("perm", default="rw"): permission_t,
    t.Key("emails", optional=True): _emails, t.Key("user_ids", optional=True): _emails,
    t.Key("userIDs", optional=True): _emails,
}).allow_extra("*"))
async def invite(request: web.Request, params: dict[str, Any]) -> web.Response:
    emails = params.get("emails") or params.get("user_ids") or params.get("userIDs") or []
    invited = await vfolder_sharing.invite(root_ctx(request), accessor(request), request.match_info["name"],
                                           params["perm"], emails)
    return json_response({"invited_ids": invited}, status=201)


@routes.post("/folders/{name}/share")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("permission", default="rw"): permission_t, t.Key("emails"): _emails}).allow_extra("*"))
async def share(request: web.Request, params: dict[str, Any]) -> web.Response:
    shared = await vfolder_sharing.share(root_ctx(request), accessor(request), request.match_info["name"],
                                         params["permission"], params["emails"])
    return json_response({"shared_emails": shared}, status=201)


@routes.delete("/folders/{name}/unshare")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("emails"): _emails}).allow_extra("*"))
async def unshare(request: web.Request, params: dict[str, Any]) -> web.Response:
    unshared = await vfolder_sharing.unshare(root_ctx(request), accessor(request), request.match_info["name"],
                                             params["emails"])
    return json_response({"unshared_emails": unshared})


@routes.post("/folders/{name}/leave")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("shared_user_uuid", default=None): t.Null | ToUUID()}).allow_extra("*"))
async def leave(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_sharing.leave(root_ctx(request), accessor(request), request.match_info["name"],
                                params["shared_user_uuid"])
    return json_response({"msg": "left the shared vfolder"})
