"""`/admin/gql` (and the legacy `/admin/graphql`): the admin GraphQL API."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..errors import GraphQLError
from ..gql.base import GQLContext
from ..gql.schema import execute
from .utils import auth_required, check_params, json_response, requester, root_ctx

routes = web.RouteTableDef()

_params = t.Dict({
    t.Key("query"): t.String,
    t.Key("variables", default=None): t.Null | t.Mapping(t.String, t.Any),
    t.Key("operation_name", optional=True): t.Null | t.String,
    t.Key("operationName", optional=True): t.Null | t.String,
}).allow_extra("*")


async def _run(request: web.Request, params: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    context = GQLContext(root=root_ctx(request), requester=requester(request))
    op = params.get("operation_name") or params.get("operationName")
    return await execute(params["query"], params["variables"], context, op)


@routes.post("/admin/gql")
@auth_required
@check_params(_params, query_too=False)
async def handle_gql(request: web.Request, params: dict[str, Any]) -> web.Response:
    data, errors = await _run(request, params)
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = errors
    return json_response(body)


@routes.post("/admin/graphql")
@auth_required
@check_params(_params, query_too=False)
async def handle_gql_legacy(request: web.Request, params: dict[str, Any]) -> web.Response:
    """Clients before v6.20210815 expect the bare result and a 400 on errors."""
    data, errors = await _run(request, params)
    if errors:
        raise GraphQLError(data=errors)
    return json_response(data)
