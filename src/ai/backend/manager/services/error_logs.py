"""Error logs reported by clients (and by the manager for its own 500s), scoped by role:
users see their own, domain admins their domain's, superadmins everything."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import ObjectNotFound
from ..models import ErrorLogSeverity, error_logs, users
from ..types import Requester


async def append(db: AsyncEngine, *, severity: ErrorLogSeverity, source: str, message: str,
                 context_lang: str, context_env: dict[str, Any], user: uuid.UUID | None,
                 request_url: str | None = None, request_status: int | None = None,
                 traceback: str | None = None) -> uuid.UUID:
    async with db.begin() as conn:
        return (await conn.execute(
            sa.insert(error_logs).values(
                severity=severity, source=source, message=message, context_lang=context_lang,
                context_env=context_env, user=user, request_url=request_url,
                request_status=request_status, traceback=traceback,
            ).returning(error_logs.c.id)
        )).scalar_one()


def _scope(requester: Requester) -> sa.ColumnElement[bool]:
    if requester.is_superadmin:
        return sa.true()
    if requester.is_admin:
        in_domain = sa.select(users.c.uuid).where(users.c.domain_name == requester.domain_name)
        return error_logs.c.user.in_(in_domain) & ~error_logs.c.is_cleared
    return (error_logs.c.user == requester.user_uuid) & ~error_logs.c.is_cleared


def _item(row: Any) -> dict[str, Any]:
    return {
        "log_id": str(row.id),
        "created_at": row.created_at.timestamp(),
        "severity": row.severity.value,
        "source": row.source,
        "user": str(row.user) if row.user else None,
        "is_read": row.is_read,
        "is_cleared": row.is_cleared,
        "message": row.message,
        "context_lang": row.context_lang,
        "context_env": row.context_env,
        "request_url": row.request_url,
        "request_status": row.request_status,
        "traceback": row.traceback,
    }


async def list_logs(db: AsyncEngine, requester: Requester, *, page_size: int, page_no: int,
                    mark_read: bool) -> dict[str, Any]:
    where = _scope(requester)
    async with db.begin() as conn:
        total = (await conn.execute(sa.select(sa.func.count()).select_from(error_logs).where(where))).scalar_one()
        rows = (await conn.execute(
            sa.select(error_logs).where(where).order_by(error_logs.c.created_at.desc())
            .limit(page_size).offset((page_no - 1) * page_size)
        )).all()
        if mark_read and rows:
            await conn.execute(sa.update(error_logs).where(error_logs.c.id.in_([r.id for r in rows]))
                               .values(is_read=True))
    return {"logs": [_item(r) for r in rows], "count": total}


async def clear(db: AsyncEngine, requester: Requester, log_id: uuid.UUID) -> None:
    async with db.begin() as conn:
        result = await conn.execute(
            sa.update(error_logs).where((error_logs.c.id == log_id) & _scope(requester)).values(is_cleared=True)
        )
    if result.rowcount == 0:
        raise ObjectNotFound(object_name="error log")
