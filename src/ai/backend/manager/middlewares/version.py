"""X-Method-Override and API version negotiation.

`X-Method-Override: REPORT|GET|...` on a POST re-routes the request as that method.
`X-BackendAI-Version: vN.YYYYMMDD` (legacy X-Sorna-Version) must name a supported major
version; requests without it are taken as the latest version.
"""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.typedefs import Handler

from ..context import API_VERSION, API_VERSION_STR, SIGNED_METHOD
from ..errors import GenericBadRequest, UnsupportedAPIVersion
from ..types import LATEST_API_VERSION, LATEST_API_VERSION_STR, SUPPORTED_API_MAJORS

_VERSION_RE = re.compile(r"^v(?P<major>\d+)\.(?P<date>\d{8})$")
_ALLOWED_OVERRIDES = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "REPORT", "OPTIONS"})


def parse_api_version(value: str) -> tuple[int, str]:
    m = _VERSION_RE.match(value.strip())
    if m is None:
        raise UnsupportedAPIVersion(f"malformed API version {value!r} (expected vN.YYYYMMDD)")
    major = int(m.group("major"))
    if major not in SUPPORTED_API_MAJORS:
        raise UnsupportedAPIVersion(
            f"API version {value} is not supported (supported majors: "
            f"{', '.join(f'v{v}' for v in sorted(SUPPORTED_API_MAJORS))})"
        )
    return major, m.group("date")


async def _override_method(request: web.Request, method: str) -> web.Request:
    method = method.strip().upper()
    if method not in _ALLOWED_OVERRIDES:
        raise GenericBadRequest(f"unsupported X-Method-Override: {method!r}")
    new_request = request.clone(method=method)
    match = await request.app.router.resolve(new_request)
    match.add_app(request.app)
    match.freeze()
    # aiohttp has no public setter for a re-resolved match; dispatch.py relies on it.
    new_request._match_info = match  # type: ignore[attr-defined]
    return new_request


@web.middleware
async def api_version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[SIGNED_METHOD] = request.method
    override = request.headers.get("X-Method-Override")
    if override and request.method == "POST":
        request = await _override_method(request, override)
    raw = request.headers.get("X-BackendAI-Version") or request.headers.get("X-Sorna-Version")
    if raw:
        request[API_VERSION] = parse_api_version(raw)
        request[API_VERSION_STR] = raw.strip()
    else:
        request[API_VERSION] = LATEST_API_VERSION
        request[API_VERSION_STR] = None
    if request[API_VERSION_STR] is None and "Authorization" in request.headers:
        # The version is part of the signed string; without it nothing can be verified.
        request[API_VERSION_STR] = LATEST_API_VERSION_STR
    return await handler(request)
