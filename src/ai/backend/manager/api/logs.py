"""`/logs/error`: report, list and clear error logs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import trafaret as t
from aiohttp import web

from ..errors import InvalidAPIParameters, ObjectNotFound
from ..models import ErrorLogSeverity
from ..services import error_logs
from .utils import (
    auth_required,
    check_params,
    json_response,
    requester,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        raise InvalidAPIParameters("context_env must be a JSON object (or its JSON string)") from None
    if not isinstance(parsed, dict):
        raise InvalidAPIParameters("context_env must be a JSON object")
    return parsed


@routes.post("/logs/error")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("severity"): t.Enum(*[s.value for s in ErrorLogSeverity]),
    t.Key("source"): t.String(max_length=64),
    t.Key("message"): t.String,
    t.Key("context_lang"): t.String(max_length=32),
    t.Key("context_env"): t.Any,
    t.Key("request_url", default=None): t.Null | t.String(max_length=512),
    t.Key("request_status", default=None): t.Null | t.ToInt,
    t.Key("traceback", default=None): t.Null | t.String(allow_blank=True),
}), query_too=False)
async def append(request: web.Request, params: dict[str, Any]) -> web.Response:
    log_id = await error_logs.append(
        root_ctx(request).db, severity=ErrorLogSeverity(params["severity"]), source=params["source"],
        message=params["message"], context_lang=params["context_lang"],
        context_env=_json_object(params["context_env"]), user=requester(request).user_uuid,
        request_url=params["request_url"], request_status=params["request_status"],
        traceback=params["traceback"],
    )
    return json_response({"success": True, "log_id": str(log_id)})


@routes.get("/logs/error")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("mark_read", default=False): t.ToBool,
    t.Key("page_size", default=20): t.ToInt[1:100],
    t.Key("page_no", default=1): t.ToInt[1:],
}).allow_extra("*"))
async def list_logs(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await error_logs.list_logs(
        root_ctx(request).db, requester(request), page_size=params["page_size"],
        page_no=params["page_no"], mark_read=params["mark_read"],
    ))


@routes.post("/logs/error/{log_id}/clear")
@auth_required
@server_status_required()
async def clear(request: web.Request) -> web.Response:
    try:
        log_id = uuid.UUID(request.match_info["log_id"])
    except ValueError:
        raise ObjectNotFound(object_name="error log") from None
    await error_logs.clear(root_ctx(request).db, requester(request), log_id)
    return json_response({"success": True})
