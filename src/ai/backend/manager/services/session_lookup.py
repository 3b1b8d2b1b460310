"""Finding a session by name or UUID within its owner's sessions.

The official client passes the session *name* everywhere while other clients pass the UUID;
both resolve here, always inside one owner keypair, so another user's session is simply not
found (404) rather than forbidden. A name matches the owner's live session of that name
first, then the most recently created one (so logs of an ended session stay reachable).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import LIVE_STATUSES

from ..errors import ObjectNotFound
from ..models import sessions


class SessionNotFound(ObjectNotFound):
    error_type = "session-not-found"
    error_title = "No such session."


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def resolve_session(conn: AsyncConnection, owner_access_key: str, name_or_id: str) -> sa.Row[Any]:
    """The owner's session called `name_or_id` (a name or a UUID); SessionNotFound otherwise."""
    owned = sessions.c.access_key == owner_access_key
    sid = _as_uuid(name_or_id)
    if sid is not None:
        row = (await conn.execute(sa.select(sessions).where(owned, sessions.c.id == sid))).first()
        if row is not None:
            return row
    live_first = sa.case((sessions.c.status.in_(list(LIVE_STATUSES)), 0), else_=1)
    query = (sa.select(sessions).where(owned, sessions.c.name == name_or_id)
             .order_by(live_first, sessions.c.created_at.desc()).limit(1))
    row = (await conn.execute(query)).first()
    if row is None:
        raise SessionNotFound(f"no session {name_or_id!r} of keypair {owner_access_key}")
    return row
