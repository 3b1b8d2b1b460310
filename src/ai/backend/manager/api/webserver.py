"""The web-server face of the manager for the "session" endpoint type (BACKEND_ENDPOINT_TYPE
=session): `/server/login`, `/server/logout`, `/server/login-check` with a cookie, and
`/func/<path>`, which runs `<path>` as the logged-in user's keypair in this same process
(no second hop, so websockets and streaming work unchanged)."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..context import IS_AUTHORIZED, REQUESTER
from ..errors import AuthenticationRequired, AuthorizationFailed
from ..services import auth as auth_service
from ..services import websessions
from .utils import check_params, json_response, root_ctx

routes = web.RouteTableDef()


def _problem(e: AuthorizationFailed) -> dict[str, Any]:
    body = e.body()
    body["details"] = e.msg or e.error_title
    return body


@routes.post("/server/login")
@check_params(t.Dict({
    t.Key("username"): t.String,
    t.Key("password"): t.String,
    t.Key("otp", optional=True): t.Null | t.String(allow_blank=True),
}).allow_extra("*"), query_too=False)
async def login(request: web.Request, params: dict[str, Any]) -> web.Response:
    ctx = root_ctx(request)
    try:
        token, data = await websessions.login(ctx, params["username"], params["password"])
    except AuthorizationFailed as e:
        # the official client reads failures from a 200 body: {"authenticated": false, "data": {...}}
        return json_response({"authenticated": False, "data": _problem(e)})
    resp = json_response({"authenticated": True, "data": data})
    resp.set_cookie(websessions.COOKIE_NAME, token, max_age=websessions.TTL_SECONDS, httponly=True,
                    samesite="Lax", path="/", secure=request.secure)
    return resp


@routes.post("/server/logout")
async def logout(request: web.Request) -> web.Response:
    await websessions.logout(root_ctx(request), request.cookies.get(websessions.COOKIE_NAME))
    resp = json_response({})
    resp.del_cookie(websessions.COOKIE_NAME, path="/")
    return resp


@routes.get("/server/login-check")
@routes.post("/server/login-check")
async def login_check(request: web.Request) -> web.Response:
    session = await websessions.load(root_ctx(request), request.cookies.get(websessions.COOKIE_NAME))
    if session is None:
        return json_response({"authenticated": False, "data": {}})
    data = {k: session[k] for k in ("username", "domain", "role")}
    return json_response({"authenticated": True, "data": data})


@routes.route("*", "/func")
@routes.route("*", "/func/{tail:.*}")
async def func_proxy(request: web.Request) -> web.StreamResponse:
    """Dispatch `/func/<path>` to the route for `/<path>` as the cookie's user."""
    ctx = root_ctx(request)
    session = await websessions.load(ctx, request.cookies.get(websessions.COOKIE_NAME))
    tail = request.match_info.get("tail", "")
    rel_url = request.rel_url.with_path("/" + tail) if tail else request.rel_url.with_path("/")
    inner = request.clone(rel_url=rel_url)
    match = await request.app.router.resolve(inner)
    match.add_app(request.app)
    match.freeze()
    inner._match_info = match  # type: ignore[attr-defined]  # as middlewares/version.py does
    if session is not None:
        inner[REQUESTER] = await auth_service.load_requester(ctx.db, session["access_key"])
        inner[IS_AUTHORIZED] = True
    elif tail:   # everything but the version probe needs a login
        raise AuthenticationRequired("not logged in: use `backend.ai login` (or POST /server/login) first")
    return await match.handler(inner)
