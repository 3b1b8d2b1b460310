"""Web (cookie) sessions for the "session" endpoint type: a browser-style login maps a random
token to the user's keypair, kept in Redis with a sliding expiry. Losing Redis only logs
people out; nothing else depends on these entries."""

from __future__ import annotations

import json
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..context import RootContext
from ..errors import AuthorizationFailed
from ..models.user import users
from . import auth as auth_service

COOKIE_NAME = "BACKENDAI_SESSION"
TTL_SECONDS = 24 * 3600


def _key(ctx: RootContext, token: str) -> str:
    return f"websession:{ctx.namespace}:{token}"


async def _user_domain(db: AsyncEngine, username: str) -> str:
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(users.c.domain_name).where(
            (users.c.email == username) | (users.c.username == username)))).first()
    if row is None:
        raise AuthorizationFailed("User credential mismatch.")
    return str(row.domain_name)


async def login(ctx: RootContext, username: str, password: str) -> tuple[str, dict[str, Any]]:
    """(token, user data) for valid credentials; AuthorizationFailed otherwise."""
    domain = await _user_domain(ctx.db, username)
    creds = await auth_service.authorize_by_password(ctx.db, domain, username, password)
    token = secrets.token_urlsafe(32)
    data = {"access_key": creds["access_key"], "username": username, "domain": domain, "role": creds["role"]}
    await ctx.redis.live.set(_key(ctx, token), json.dumps(data), ex=TTL_SECONDS)
    return token, {"username": username, "domain": domain, "role": creds["role"], "status": creds["status"]}


async def load(ctx: RootContext, token: str | None) -> dict[str, Any] | None:
    """The session's data (refreshing its expiry), or None if unknown/expired."""
    if not token:
        return None
    raw = await ctx.redis.live.get(_key(ctx, token))
    if raw is None:
        return None
    await ctx.redis.live.expire(_key(ctx, token), TTL_SECONDS)
    return json.loads(raw)  # type: ignore[no-any-return]


async def logout(ctx: RootContext, token: str | None) -> None:
    if token:
        await ctx.redis.live.delete(_key(ctx, token))
