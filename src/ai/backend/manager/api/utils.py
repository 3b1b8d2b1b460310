"""Helpers every API module uses: privilege decorators, parameter validation, JSON responses,
and owner_access_key delegation."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Concatenate, ParamSpec, cast

import trafaret as t
from aiohttp import web

from ..context import IS_AUTHORIZED, REQUESTER, ROOT_CTX, RootContext
from ..errors import (
    AuthenticationRequired,
    Forbidden,
    InsufficientPrivilege,
    InvalidAPIParameters,
    ServerFrozen,
)
from ..models.dbutils import dumps
from ..services import auth as auth_service
from ..types import Owner, Requester

P = ParamSpec("P")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def root_ctx(request: web.Request) -> RootContext:
    return request.app[ROOT_CTX]


def requester(request: web.Request) -> Requester:
    r = request.get(REQUESTER)
    if r is None:
        raise AuthenticationRequired()
    return cast(Requester, r)


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """application/json with Decimal/UUID/datetime handled (the client checks the type)."""
    return web.Response(status=status, text=dumps(data), content_type="application/json")


# --- privilege decorators ---------------------------------------------------------------------

def auth_required(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not request.get(IS_AUTHORIZED):
            raise AuthenticationRequired()
        return await handler(request)

    wrapped.auth_required = True  # type: ignore[attr-defined]
    return wrapped


def admin_required(handler: Handler) -> Handler:
    """A domain admin or a superadmin."""
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not requester(request).is_admin:
            raise InsufficientPrivilege("admin privilege required")
        return await handler(request)

    return auth_required(wrapped)


def superadmin_required(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not requester(request).is_superadmin:
            raise InsufficientPrivilege("superadmin privilege required")
        return await handler(request)

    return auth_required(wrapped)


def server_status_required(*, allow_read: bool = True) -> Callable[[Handler], Handler]:
    """Refuse (503) requests that change state while the manager is frozen, except from
    superadmins, so maintenance can proceed while users wait."""
    def decorator(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            status = await root_ctx(request).shared_config.get_manager_status()
            is_read = request.method in ("GET", "HEAD", "REPORT")
            r = request.get(REQUESTER)
            if status == "frozen" and not (allow_read and is_read) and not (r and r.is_superadmin):
                raise ServerFrozen()
            return await handler(request)

        return wrapped

    return decorator


# --- parameters -------------------------------------------------------------------------------

class ToUUID(t.Trafaret):
    """A UUID from its string form."""

    def check_and_return(self, value: Any) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(str(value))
        except ValueError:
            self._failure("expected a UUID", value=value)
            raise  # unreachable: _failure raises



async def read_params(request: web.Request, *, query_too: bool = True) -> dict[str, Any]:
    """The JSON body (any method may carry one), merged over the query string."""
    params: dict[str, Any] = dict(request.query) if query_too else {}
    if request.can_read_body:
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise InvalidAPIParameters(f"the request body is not valid JSON: {e}") from None
            if not isinstance(body, Mapping):
                raise InvalidAPIParameters("the request body must be a JSON object")
            params.update(body)
    return params


def _describe(err: t.DataError) -> str:
    detail = err.as_dict(value=True) if hasattr(err, "as_dict") else str(err)
    if isinstance(detail, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in detail.items())
    return str(detail)


def check_params(
    schema: t.Trafaret, *, query_too: bool = True,
) -> Callable[[Callable[Concatenate[web.Request, dict[str, Any], P], Awaitable[web.StreamResponse]]],
              Callable[Concatenate[web.Request, P], Awaitable[web.StreamResponse]]]:
    """Validate the request parameters with `schema` and pass them as the second argument."""
    def decorator(handler: Any) -> Any:
        @functools.wraps(handler)
        async def wrapped(request: web.Request, *args: Any, **kwargs: Any) -> web.StreamResponse:
            raw = await read_params(request, query_too=query_too)
            try:
                params = schema.check(raw)
            except t.DataError as e:
                raise InvalidAPIParameters(_describe(e), data=e.as_dict(value=True)) from None
            return await handler(request, params, *args, **kwargs)

        return wrapped

    return decorator


# --- owner_access_key delegation --------------------------------------------------------------

async def resolve_owner(request: web.Request, owner_access_key: str | None) -> Owner:
    """The keypair this request acts for. Only admins may name another keypair, and a domain
    admin only one in their own domain."""
    r = requester(request)
    async with root_ctx(request).db.connect() as conn:
        if not owner_access_key or owner_access_key == r.access_key:
            return await auth_service.load_owner(conn, r.access_key)
        if not r.is_admin:
            raise Forbidden("only admins can act on behalf of another keypair (owner_access_key)")
        owner = await auth_service.load_owner(conn, owner_access_key)
    if not r.can_manage_domain(owner.domain_name):
        raise Forbidden("the owner keypair belongs to another domain")
    return owner
