"""Manager-wide state: running/frozen status, the announcement, active session counts."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.events import EventProducer
from ai.backend.common.events.session import DoTerminateSessionEvent
from ai.backend.common.status import LIVE_STATUSES

from ..models import sessions

MANAGER_STATUSES = ("running", "frozen")


async def count_active_sessions(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(
            sa.select(sa.func.count()).select_from(sessions).where(sessions.c.status.in_(list(LIVE_STATUSES)))
        )).scalar_one())


async def request_termination_of_all(db: AsyncEngine, producer: EventProducer, reason: str) -> list[uuid.UUID]:
    """Ask the session lifecycle (via do_terminate_session events) to end every live session."""
    async with db.connect() as conn:
        ids: list[uuid.UUID] = list((await conn.execute(
            sa.select(sessions.c.id).where(sessions.c.status.in_(list(LIVE_STATUSES)))
        )).scalars())
    for sid in ids:
        await producer.produce_event(DoTerminateSessionEvent(session_id=sid, reason=reason))
    return ids
