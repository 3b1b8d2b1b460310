"""Render every error as application/problem+json; unexpected ones are logged as 500s."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import trafaret as t
from aiohttp import web
from aiohttp.typedefs import Handler

from ..context import RATE_LIMIT_BOX
from ..errors import (
    PROBLEM_BASE,
    BackendError,
    InternalServerError,
    InvalidAPIParameters,
    MethodNotAllowed,
    NotFoundRoute,
)

log = logging.getLogger(__name__)


def problem_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False, default=str),
        content_type="application/problem+json",
    )


def error_response(err: BackendError) -> web.Response:
    return problem_response(err.status_code, err.body())


@web.middleware
async def exception_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[RATE_LIMIT_BOX] = {}
    try:
        return await handler(request)
    except BackendError as e:
        if e.status_code >= 500:
            log.error("%s %s -> %d %s", request.method, request.path, e.status_code, e)
        return error_response(e)
    except web.HTTPNotFound:
        return error_response(NotFoundRoute(f"{request.method} {request.path}"))
    except web.HTTPMethodNotAllowed as e:
        return error_response(MethodNotAllowed(f"{request.method} is not allowed; use {', '.join(sorted(e.allowed_methods))}"))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        slug = (e.reason or "http-error").lower().replace(" ", "-")
        return problem_response(e.status, {"type": PROBLEM_BASE + slug, "title": e.reason, "msg": e.text})
    except t.DataError as e:
        return error_response(InvalidAPIParameters(str(e.as_dict() if hasattr(e, "as_dict") else e)))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(InternalServerError("an unexpected error occurred; see the manager log"))
