"""`/config`: resource slot catalog, folder types, registries, and raw etcd access (superadmin)."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..services import etcd_config
from .utils import auth_required, check_params, json_response, root_ctx, superadmin_required

routes = web.RouteTableDef()


@routes.get("/config/resource-slots")
@auth_required
async def get_resource_slots(request: web.Request) -> web.Response:
    slots = await root_ctx(request).shared_config.get_resource_slots()
    return json_response({k: v.value for k, v in slots.items()})


@routes.get("/config/resource-slots/details")
@auth_required
@check_params(t.Dict({t.Key("sgroup", default=None): t.Null | t.String}).allow_extra("*"))
async def get_resource_slot_details(request: web.Request, params: dict[str, Any]) -> web.Response:
    ctx = root_ctx(request)
    return json_response(await etcd_config.resource_slot_details(ctx.shared_config, ctx.db, params["sgroup"]))


@routes.get("/config/vfolder-types")
@auth_required
async def get_vfolder_types(request: web.Request) -> web.Response:
    return json_response(await root_ctx(request).shared_config.get_vfolder_types())


@routes.get("/config/docker-registries")
@superadmin_required
async def get_docker_registries(request: web.Request) -> web.Response:
    registries = await root_ctx(request).shared_config.get_docker_registries()
    return json_response({name: info.get("", "") for name, info in registries.items()})


_key_iv = t.Dict({t.Key("key"): t.String(allow_blank=True), t.Key("prefix", default=False): t.ToBool})


@routes.post("/config/get")
@superadmin_required
@check_params(_key_iv, query_too=False)
async def get_config(request: web.Request, params: dict[str, Any]) -> web.Response:
    value = await etcd_config.get(root_ctx(request).etcd, params["key"], params["prefix"])
    return json_response({"result": value})


@routes.post("/config/set")
@superadmin_required
@check_params(t.Dict({t.Key("key"): t.String, t.Key("value"): t.Any}), query_too=False)
async def set_config(request: web.Request, params: dict[str, Any]) -> web.Response:
    await etcd_config.put(root_ctx(request).etcd, params["key"], params["value"])
    return json_response({"result": "ok"})


@routes.post("/config/delete")
@superadmin_required
@check_params(_key_iv, query_too=False)
async def delete_config(request: web.Request, params: dict[str, Any]) -> web.Response:
    await etcd_config.delete(root_ctx(request).etcd, params["key"], params["prefix"])
    return json_response({"result": "ok"})
