"""What both APIs share: problem+json errors, JSON bodies validated with trafaret."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import trafaret as t
from aiohttp import web

from ai.backend.common.storage_types import QuotaScopeID, VFolderID

from ..errors import PROBLEM_BASE, InvalidAPIParameters, StorageError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS_SLUGS = {
    400: "invalid-api-params", 401: "auth-failed", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "request-too-large", 415: "unsupported-media-type",
}


def problem_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    extra = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json",
                        headers=extra)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StorageError as e:
        if e.status >= 500:
            log.error("%s %s failed: %s", request.method, request.path, e)
        return problem_response(e.status, e.to_problem(), e.headers)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        slug = _STATUS_SLUGS.get(e.status, "http-error")
        headers = {k: v for k, v in e.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return problem_response(e.status, {"type": PROBLEM_BASE + slug, "title": e.reason}, headers)
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return problem_response(500, {"type": PROBLEM_BASE + "internal-server-error",
                                      "title": "Internal server error"})


def _flatten(err: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(err, t.DataError):
        if isinstance(err.error, dict):
            return _flatten(err.error, prefix)
        return {prefix or "(body)": str(err.error)}
    if isinstance(err, Mapping):
        out: dict[str, str] = {}
        for k, v in err.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "(body)": str(err)}


def check(schema: t.Trafaret, data: Any) -> Any:
    """Validate `data`; a 400 names every bad field."""
    try:
        return schema.check(data)
    except t.DataError as e:
        errors = _flatten(e)
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        raise InvalidAPIParameters(detail, data={"errors": errors}) from None


async def read_json(request: web.Request, schema: t.Trafaret) -> Any:
    try:
        raw = await request.json() if request.can_read_body else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidAPIParameters(f"the request body is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise InvalidAPIParameters("the request body must be a JSON object")
    return check(schema, raw)


class VFolderIDTrafaret(t.Trafaret):
    def check_and_return(self, value: Any) -> VFolderID:
        try:
            return VFolderID.parse(value)
        except ValueError as e:
            raise t.DataError(str(e), value=value, trafaret=self) from None


class QuotaScopeIDTrafaret(t.Trafaret):
    def check_and_return(self, value: Any) -> QuotaScopeID:
        try:
            return QuotaScopeID.parse(value)
        except ValueError as e:
            raise t.DataError(str(e), value=value, trafaret=self) from None


def json_ok(data: Mapping[str, Any] | None = None, status: int = 200) -> web.Response:
    return web.json_response(dict(data or {}), status=status)
