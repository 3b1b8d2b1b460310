"""`/template/session`: CRUD of session templates (YAML or JSON payloads)."""

from __future__ import annotations

from typing import Any

import trafaret as t
import yaml
from aiohttp import web

from ..services import session_templates as svc
from .utils import (
    ToUUID,
    auth_required,
    check_params,
    json_response,
    requester,
    resolve_owner,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()

_owner = {
    t.Key("owner_access_key", default=None): t.Null | t.String(allow_blank=True),
}


@routes.post("/template/session")
@server_status_required(allow_read=True)
@auth_required
@check_params(t.Dict({
    t.Key("payload"): t.String,
    t.Key("group", default=None, to_name="group_name"): t.Null | t.String,
    t.Key("group_name", optional=True): t.Null | t.String,
    t.Key("domain", default=None, to_name="domain_name"): t.Null | t.String,
    t.Key("domain_name", optional=True): t.Null | t.String,
    **_owner,
}).allow_extra("*"))
async def create(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"] or None)
    rows = await svc.create(root_ctx(request).db, requester(request), owner, params.get("domain_name"),
                            params.get("group_name"), params["payload"])
    return json_response(rows)


@routes.get("/template/session")
@auth_required
@check_params(t.Dict({
    t.Key("all", default=False): t.ToBool,
    t.Key("group_id", default=None): t.Null | ToUUID(),
    **_owner,
}).allow_extra("*"))
async def list_templates(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"] or None)
    items = await svc.list_templates(root_ctx(request).db, requester(request), owner, params["all"],
                                     params["group_id"])
    return json_response(items)


@routes.get("/template/session/{template_id}")
@auth_required
@check_params(t.Dict({t.Key("format", default="json"): t.Enum("yaml", "json"), **_owner}).allow_extra("*"))
async def get(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"] or None)
    tpl = await svc.get(root_ctx(request).db, requester(request), owner, request.match_info["template_id"])
    if params["format"] == "yaml":
        return web.Response(text=yaml.safe_dump(tpl, sort_keys=False), content_type="text/yaml")
    return json_response(tpl)


@routes.put("/template/session/{template_id}")
@server_status_required(allow_read=True)
@auth_required
@check_params(t.Dict({
    t.Key("payload"): t.String,
    t.Key("group", default=None, to_name="group_name"): t.Null | t.String,
    t.Key("domain", default=None, to_name="domain_name"): t.Null | t.String,
    **_owner,
}).allow_extra("*"))
async def put(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"] or None)
    await svc.update(root_ctx(request).db, requester(request), owner, request.match_info["template_id"],
                     params["payload"], params["group_name"], params["domain_name"])
    return json_response({"success": True})


@routes.delete("/template/session/{template_id}")
@server_status_required(allow_read=True)
@auth_required
@check_params(t.Dict(_owner).allow_extra("*"))
async def delete(request: web.Request, params: dict[str, Any]) -> web.Response:
    owner = await resolve_owner(request, params["owner_access_key"] or None)
    await svc.delete(root_ctx(request).db, requester(request), owner, request.match_info["template_id"])
    return json_response({"success": True})
