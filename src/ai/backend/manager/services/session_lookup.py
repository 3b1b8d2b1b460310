"""Find one session of a keypair by name or by id.

Every per-session API (info, destroy, restart, rename, execute, files, ...) names the session
the way the client does: usually by its name, sometimes by its UUID. Lookups are always scoped
to one owner keypair (the requester's own, or the one an admin names with owner_access_key),
so a session of somebody else is simply "not found", never "forbidden".

Names are unique only among an owner's non-terminated sessions; a name that also belongs to
terminated sessions resolves to the live one, and with `allow_stale` to the newest one.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import TERMINAL_STATUSES

from ..errors import SessionNotFound
from ..models import sessions
from .sessions import session_view


def as_session_id(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


async def find_session(conn: AsyncConnection, access_key: str, name_or_id: str | uuid.UUID, *,
                       allow_stale: bool = False, for_update: bool = False) -> Any:
    """The session row (with group_name and user_email) or SessionNotFound.

    `allow_stale` also matches TERMINATED/CANCELLED sessions; `for_update` locks the row
    until the transaction ends (use it before changing the session).
    """
    sid = as_session_id(name_or_id)
    match = sessions.c.name == str(name_or_id)
    if sid is not None:
        match = match | (sessions.c.id == sid)
    query = session_view.where((sessions.c.access_key == access_key) & match)
    if not allow_stale:
        query = query.where(sessions.c.status.not_in(list(TERMINAL_STATUSES)))
    live_first = sa.case((sessions.c.status.in_(list(TERMINAL_STATUSES)), 1), else_=0)
    exact_id_first = sa.case((sessions.c.id == sid, 0), else_=1) if sid is not None else sa.literal(0)
    query = query.order_by(exact_id_first, live_first, sessions.c.created_at.desc()).limit(1)
    if for_update:
        query = query.with_for_update(of=sessions)
    row = (await conn.execute(query)).first()
    if row is None:
        raise SessionNotFound(f"no session {str(name_or_id)!r} of keypair {access_key}")
    return row


async def live_session_by_name(conn: AsyncConnection, access_key: str, name: str) -> Any | None:
    """The owner's non-terminated session with exactly this name, if any."""
    return (await conn.execute(
        sa.select(sessions).where(
            (sessions.c.access_key == access_key) & (sessions.c.name == name)
            & sessions.c.status.not_in(list(TERMINAL_STATUSES)))
        .order_by(sessions.c.created_at.desc()).limit(1)
    )).first()


async def resolve_session(conn: AsyncConnection, owner_access_key: str, name_or_id: str) -> Any:
    """Like find_session, but also reaches ended sessions (their logs stay readable)."""
    return await find_session(conn, owner_access_key, name_or_id, allow_stale=True)
