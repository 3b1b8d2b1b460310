"""The innermost middleware: call the handler of the route matched for *this* request.

aiohttp binds the chain to the route matched before the middlewares run. When
X-Method-Override re-routes a request (see version.py), the request carries a new match;
calling `request.match_info.handler` makes every middleware above see the same route.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler


@web.middleware
async def dispatch_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await request.match_info.handler(request)
