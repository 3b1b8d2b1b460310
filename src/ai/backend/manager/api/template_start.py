"""`POST /session/_/create-from-template`: start a session from a stored session template;
fields in the request override the template's."""

from __future__ import annotations

from aiohttp import web

from ..errors import InvalidAPIParameters
from ..services import session_templates
from ..services.session_create import enqueue_session
from ..services.session_params import parse_creation_request
from ..services.session_template_start import merge_overrides, template_to_body
from ..services.session_wait import SessionWaiters
from .session import WAITERS_KEY
from .utils import (
    auth_required,
    json_response,
    read_params,
    requester,
    resolve_owner,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()


@auth_required
@server_status_required(allow_read=False)
async def create_from_template(request: web.Request) -> web.Response:
    ctx = root_ctx(request)
    params = await read_params(request)
    template_id = params.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        raise InvalidAPIParameters("template_id: required (the id `sesstpl list` shows)")
    owner = await resolve_owner(request, params.get("owner_access_key"))
    template = await session_templates.get(ctx.db, requester(request), owner, template_id)
    req = parse_creation_request(merge_overrides(template_to_body(template), params))
    result = await enqueue_session(ctx, requester(request), owner, req)
    if result.created and not req.enqueue_only:
        waiters = ctx.extensions.get(WAITERS_KEY)
        if waiters is None:
            waiters = ctx.extensions[WAITERS_KEY] = SessionWaiters()
        result.status, result.service_ports = await waiters.wait_settled(
            ctx.db, result.session_id, float(req.max_wait_seconds))
    return json_response(result.as_json(), status=201 if result.created else 200)


for _path in ("/session/_/create-from-template", "/session/create-from-template",
              "/kernel/_/create-from-template"):
    routes.post(_path)(create_from_template)
