"""`/acl`: the permission vocabulary for storage hosts (allowed_vfolder_hosts values)."""

from __future__ import annotations

from aiohttp import web

from ..models import VFolderHostPermission
from .utils import auth_required, json_response

routes = web.RouteTableDef()


@routes.get("/acl")
@auth_required
async def get_permission(request: web.Request) -> web.Response:
    return json_response({"vfolder_host_permission_list": [p.value for p in VFolderHostPermission]})
