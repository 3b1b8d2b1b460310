"""Dotfiles of a user (`/user-config`), a project (`/group-config`) and a domain
(`/domain-config`): create, read (one by `path` or all), update, delete."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..services import dotfiles as svc
from .utils import auth_required, check_params, json_response, requester, resolve_owner, root_ctx

routes = web.RouteTableDef()

_owner = {
    t.Key("owner_access_key", default=None): t.Null | t.String(allow_blank=True),
    t.Key("onwer_access_key", optional=True): t.Null | t.String(allow_blank=True),   # the 23.9 client's typo
}
_body = {t.Key("data"): t.String(allow_blank=True), t.Key("path"): t.String, t.Key("permission"): t.String}
_path_opt = {t.Key("path", default=None): t.Null | t.String}
_path = {t.Key("path"): t.String}
_group = {t.Key("group"): t.String, t.Key("domain", default=None): t.Null | t.String}
_domain = {t.Key("domain"): t.String}


async def _user_scope(request: web.Request, params: dict[str, Any]) -> svc.Scope:
    owner = await resolve_owner(request, params["owner_access_key"] or params.get("onwer_access_key") or None)
    return svc.user_scope(owner)


# --- user scope ---------------------------------------------------------------------------------

@routes.post("/user-config/dotfiles")
@auth_required
@check_params(t.Dict({**_body, **_owner}).allow_extra("*"))
async def create_user_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    await svc.create(root_ctx(request).db, await _user_scope(request, params), params["path"], params["data"],
                     params["permission"])
    return json_response({})


@routes.get("/user-config/dotfiles")
@auth_required
@check_params(t.Dict({**_path_opt, **_owner}).allow_extra("*"))
async def get_user_dotfiles(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await svc.list_or_get(root_ctx(request).db, await _user_scope(request, params),
                                               params["path"]))


@routes.patch("/user-config/dotfiles")
@auth_required
@check_params(t.Dict({**_body, **_owner}).allow_extra("*"))
async def update_user_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    await svc.update(root_ctx(request).db, await _user_scope(request, params), params["path"], params["data"],
                     params["permission"])
    return json_response({})


@routes.delete("/user-config/dotfiles")
@auth_required
@check_params(t.Dict({**_path, **_owner}).allow_extra("*"))
async def delete_user_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    await svc.delete(root_ctx(request).db, await _user_scope(request, params), params["path"])
    return json_response({"success": True})


# --- group (project) scope ----------------------------------------------------------------------

@routes.post("/group-config/dotfiles")
@auth_required
@check_params(t.Dict({**_body, **_group}).allow_extra("*"))
async def create_group_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.group_scope(db, requester(request), params["group"], params["domain"], write=True)
    await svc.create(db, scope, params["path"], params["data"], params["permission"])
    return json_response({})


@routes.get("/group-config/dotfiles")
@auth_required
@check_params(t.Dict({**_path_opt, **_group}).allow_extra("*"))
async def get_group_dotfiles(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.group_scope(db, requester(request), params["group"], params["domain"], write=False)
    return json_response(await svc.list_or_get(db, scope, params["path"]))


@routes.patch("/group-config/dotfiles")
@auth_required
@check_params(t.Dict({**_body, **_group}).allow_extra("*"))
async def update_group_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.group_scope(db, requester(request), params["group"], params["domain"], write=True)
    await svc.update(db, scope, params["path"], params["data"], params["permission"])
    return json_response({})


@routes.delete("/group-config/dotfiles")
@auth_required
@check_params(t.Dict({**_path, **_group}).allow_extra("*"))
async def delete_group_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.group_scope(db, requester(request), params["group"], params["domain"], write=True)
    await svc.delete(db, scope, params["path"])
    return json_response({"success": True})


# --- domain scope -------------------------------------------------------------------------------

@routes.post("/domain-config/dotfiles")
@auth_required
@check_params(t.Dict({**_body, **_domain}).allow_extra("*"))
async def create_domain_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.domain_scope(db, requester(request), params["domain"], write=True)
    await svc.create(db, scope, params["path"], params["data"], params["permission"])
    return json_response({})


@routes.get("/domain-config/dotfiles")
@auth_required
@check_params(t.Dict({**_path_opt, **_domain}).allow_extra("*"))
async def get_domain_dotfiles(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.domain_scope(db, requester(request), params["domain"], write=False)
    return json_response(await svc.list_or_get(db, scope, params["path"]))


@routes.patch("/domain-config/dotfiles")
@auth_required
@check_params(t.Dict({**_body, **_domain}).allow_extra("*"))
async def update_domain_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.domain_scope(db, requester(request), params["domain"], write=True)
    await svc.update(db, scope, params["path"], params["data"], params["permission"])
    return json_response({})


@routes.delete("/domain-config/dotfiles")
@auth_required
@check_params(t.Dict({**_path, **_domain}).allow_extra("*"))
async def delete_domain_dotfile(request: web.Request, params: dict[str, Any]) -> web.Response:
    db = root_ctx(request).db
    scope = await svc.domain_scope(db, requester(request), params["domain"], write=True)
    await svc.delete(db, scope, params["path"])
    return json_response({"success": True})
