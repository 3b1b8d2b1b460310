"""`GET /`: the unauthenticated version check (also `/vN` for a major revision)."""

from __future__ import annotations

from aiohttp import web

from .. import __version__
from ..errors import BackendError
from ..types import LATEST_API_VERSION_STR
from .utils import json_response

routes = web.RouteTableDef()

# The newest minor release of each major revision we still speak.
LATEST_MINOR = {4: "v4.20190615", 5: "v5.20191215", 6: "v6.20220615", 7: LATEST_API_VERSION_STR}


class UnknownMajorVersion(BackendError):
    status_code = 404
    error_type = "unsupported-api-version"
    error_title = "Unsupported API major version."


@routes.get("/")
async def hello(request: web.Request) -> web.Response:
    return json_response({"version": LATEST_API_VERSION_STR, "manager": __version__})


@routes.get(r"/v{major:\d+}")
@routes.get(r"/v{major:\d+}/")
async def hello_major(request: web.Request) -> web.Response:
    major = int(request.match_info["major"])
    version = LATEST_MINOR.get(major)
    if version is None:
        raise UnknownMajorVersion(f"v{major} is not served here (try one of {', '.join(f'v{m}' for m in LATEST_MINOR)})")
    return json_response({"version": version, "manager": __version__})
