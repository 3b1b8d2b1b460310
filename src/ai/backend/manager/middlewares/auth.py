"""Request signing (keypair mode): who is calling, verified before any handler runs.

Requests without an Authorization header are anonymous; handlers decorated with
api.auth_required (and the admin variants) refuse them. A request that does carry one must
verify completely: malformed header, unknown or inactive key, a date more than 15 minutes
off, or a wrong signature are all 401.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ai.backend.common import signing

from ..context import API_VERSION_STR, IS_AUTHORIZED, REQUESTER, ROOT_CTX, SIGNED_METHOD
from ..errors import AuthorizationFailed
from ..services import auth as auth_service


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[IS_AUTHORIZED] = False
    request[REQUESTER] = None
    header = request.headers.get("Authorization")
    if header is None:
        return await handler(request)
    try:
        parsed = signing.parse_authorization(header)
    except signing.SignatureError as e:
        raise AuthorizationFailed(str(e)) from None
    date_header = request.headers.get("Date") or request.headers.get("X-BackendAI-Date")
    if not date_header:
        raise AuthorizationFailed("Date or X-BackendAI-Date header is missing.")
    root_ctx = request.app[ROOT_CTX]
    requester = await auth_service.load_requester(root_ctx.db, parsed.access_key)
    auth_service.verify_request_signature(
        requester,
        authorization=parsed,
        method=request[SIGNED_METHOD],
        path_with_query=request.raw_path,
        date_header=date_header,
        host=request.headers.get("Host", ""),
        content_type=request.headers.get("Content-Type"),
        api_version=str(request[API_VERSION_STR]),
    )
    request[IS_AUTHORIZED] = True
    request[REQUESTER] = requester
    await auth_service.touch_keypair(root_ctx.db, requester.access_key)
    return await handler(request)
