"""Rolling-window rate limits in Redis: at most N requests in any 15 minutes.

Each request adds a timestamped member to a sorted set per access key (per client IP when
anonymous), drops members older than the window and counts the rest, atomically in one Lua
script. Every response carries X-RateLimit-Limit/-Remaining/-Window; over the limit is 429.
Keys include the etcd namespace, so clusters (and test runs) sharing one Redis never mix.
"""

from __future__ import annotations

import secrets
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from ..context import LOCAL_CONFIG, RATE_LIMIT_BOX, REQUESTER, ROOT_CTX
from ..errors import RateLimitExceeded

WINDOW_SECONDS = 15 * 60

# KEYS[1]: the set; ARGV: now (ms), window (ms), member. Returns the count inside the window.
_ROLLING_COUNT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


def _client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


@web.middleware
async def ratelimit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    root_ctx = request.app[ROOT_CTX]
    requester = request.get(REQUESTER)
    if requester is not None:
        subject, limit = f"ak:{requester.access_key}", int(requester.rate_limit)
    else:
        subject = f"ip:{_client_ip(request)}"
        limit = int(request.app[LOCAL_CONFIG]["manager"]["anonymous-rate-limit"])
    key = f"rlim:{root_ctx.namespace}:{subject}"
    now_ms = int(time.time() * 1000)
    member = f"{now_ms}:{secrets.token_hex(4)}"
    count = int(await root_ctx.redis.rlim.eval(_ROLLING_COUNT, 1, key, now_ms, WINDOW_SECONDS * 1000, member))  # type: ignore[misc]
    # A dict shared with the original request even when X-Method-Override cloned it.
    request[RATE_LIMIT_BOX]["info"] = (limit, max(limit - count, 0))
    if limit > 0 and count > limit:
        raise RateLimitExceeded(f"more than {limit} requests in {WINDOW_SECONDS // 60} minutes",
                                data={"limit": limit, "window": WINDOW_SECONDS})
    return await handler(request)


async def add_rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: also decorates error responses made by outer middlewares."""
    info = request.get(RATE_LIMIT_BOX, {}).get("info")
    if info is not None:
        limit, remaining = info
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Window"] = str(WINDOW_SECONDS)
