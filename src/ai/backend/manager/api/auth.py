"""`/auth`: signature test, password login to a keypair, and self-service account updates."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..services import account
from ..services import auth as auth_service
from .utils import (
    ToUUID,
    auth_required,
    check_params,
    json_response,
    requester,
    resolve_owner,
    root_ctx,
)

routes = web.RouteTableDef()


@routes.get("/auth")
@routes.post("/auth")
@routes.get("/auth/test")
@routes.post("/auth/test")
@auth_required
@check_params(t.Dict({t.Key("echo"): t.String(allow_blank=True)}).allow_extra("*"))
async def test(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response({"authorized": "yes", "echo": params["echo"]})


@routes.post("/auth/authorize")
@check_params(t.Dict({
    t.Key("type"): t.Enum("keypair", "jwt"),
    t.Key("domain"): t.String,
    t.Key("username"): t.String,
    t.Key("password"): t.String,
}).allow_extra("*"), query_too=False)
async def authorize(request: web.Request, params: dict[str, Any]) -> web.Response:
    data = await auth_service.authorize_by_password(
        root_ctx(request).db, params["domain"], params["username"], params["password"],
    )
    return json_response({"data": data})


@routes.get("/auth/role")
@auth_required
@check_params(t.Dict({t.Key("group", default=None): t.Null | ToUUID()}).allow_extra("*"))
async def get_role(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await account.get_roles(root_ctx(request).db, requester(request), params["group"]))


@routes.post("/auth/update-password")
@auth_required
@check_params(t.Dict({
    t.Key("old_password"): t.String,
    t.Key("new_password"): t.String,
    t.Key("new_password2"): t.String,
}), query_too=False)
async def update_password(request: web.Request, params: dict[str, Any]) -> web.Response:
    await account.update_password(root_ctx(request).db, requester(request), params["old_password"],
                                  params["new_password"], params["new_password2"])
    return json_response({})


@routes.post("/auth/update-password-no-auth")
@check_params(t.Dict({
    t.Key("domain"): t.String,
    t.Key("username"): t.String,
    t.Key("current_password"): t.String,
    t.Key("new_password"): t.String,
}), query_too=False)
async def update_password_no_auth(request: web.Request, params: dict[str, Any]) -> web.Response:
    await account.update_password_no_auth(root_ctx(request).db, params["domain"], params["username"],
                                          params["current_password"], params["new_password"])
    return json_response({})


@routes.post("/auth/update-full-name")
@auth_required
@check_params(t.Dict({t.Key("email"): t.String, t.Key("full_name"): t.String(allow_blank=True, max_length=64)}),
              query_too=False)
async def update_full_name(request: web.Request, params: dict[str, Any]) -> web.Response:
    await account.update_full_name(root_ctx(request).db, requester(request), params["email"], params["full_name"])
    return json_response({})


_owner_param = t.Dict({t.Key("owner_access_key", default=None): t.Null | t.String}).allow_extra("*")


@routes.get("/auth/ssh-keypair")
@auth_required
@check_params(_owner_param)
async def get_ssh_keypair(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    pubkey = await account.get_ssh_public_key(root_ctx(request).db, owner.access_key)
    return json_response({"ssh_public_key": pubkey})


@routes.patch("/auth/ssh-keypair")
@auth_required
@check_params(_owner_param)
async def refresh_ssh_keypair(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    pubkey, privkey = await account.refresh_ssh_keypair(root_ctx(request).db, owner.access_key)
    return json_response({"ssh_public_key": pubkey, "ssh_private_key": privkey})


@routes.post("/auth/ssh-keypair")
@auth_required
@check_params(_owner_param + t.Dict({t.Key("pubkey"): t.String, t.Key("privkey"): t.String}))
async def upload_ssh_keypair(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"])
    await account.set_ssh_keypair(root_ctx(request).db, owner.access_key, params["pubkey"], params["privkey"])
    return json_response({"ssh_public_key": params["pubkey"].strip()})
