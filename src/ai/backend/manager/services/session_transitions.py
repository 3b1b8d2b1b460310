"""Status transitions of kernels and sessions, the only place that writes their status columns.

Kernel transitions are conditional UPDATEs ("move to X only from one of these statuses"), so
an event that arrives twice, late or out of order never moves a kernel backwards. A session's
status is derived from its kernels (derive_session_status) after every kernel change, under a
row lock on the session so concurrent events serialize. Every change appends
{"status", "timestamp"} (plus "reason" when known) to status_history.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import (
    RESOURCE_OCCUPYING_STATUSES,
    KernelStatus,
    SessionResult,
    SessionStatus,
)
from ai.backend.common.types import ResourceSlot

from ..models import kernels, sessions

S = SessionStatus

# The creation pipeline, in order; events may only move a kernel forward along it.
PROGRESS: tuple[SessionStatus, ...] = (
    S.PENDING, S.SCHEDULED, S.PREPARING, S.PULLING, S.PREPARED, S.CREATING, S.RUNNING,
)
CREATION_STATUSES: frozenset[SessionStatus] = frozenset(PROGRESS[1:-1])   # SCHEDULED..CREATING
# Statuses in which a kernel's container may exist on its agent.
ON_AGENT_STATUSES: frozenset[SessionStatus] = frozenset({
    S.PREPARING, S.PULLING, S.PREPARED, S.CREATING, S.RUNNING, S.RESTARTING,
    S.RUNNING_DEGRADED, S.TERMINATING,
})
FINAL_KERNEL_STATUSES: frozenset[SessionStatus] = frozenset({S.TERMINATED, S.CANCELLED, S.ERROR})


def now() -> datetime:
    return datetime.now(UTC)


def before(status: SessionStatus) -> list[SessionStatus]:
    """The statuses a kernel may move forward from to reach `status`."""
    return list(PROGRESS[:PROGRESS.index(status)])


def history_entry(status: SessionStatus, ts: datetime, reason: str | None = None) -> Any:
    """status_history || [{"status", "timestamp"[, "reason"]}] as a SQL expression."""
    args: list[Any] = ["status", status.value, "timestamp", ts.isoformat()]
    if reason:
        args += ["reason", reason[:256]]
    return sa.func.jsonb_build_array(sa.func.jsonb_build_object(*args))


async def transit_kernels(
    conn: AsyncConnection,
    kernel_ids: Iterable[uuid.UUID],
    status: SessionStatus,
    *,
    from_statuses: Iterable[SessionStatus] | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> list[uuid.UUID]:
    """Move kernels to `status` (only those currently in `from_statuses`, if given).

    Returns the ids that actually changed; callers then refresh their sessions' status.
    """
    ids = list(kernel_ids)
    if not ids:
        return []
    ts = now()
    update: dict[str, Any] = {
        "status": status, "status_changed": ts,
        "status_history": kernels.c.status_history.op("||")(history_entry(status, ts, reason)),
        **(values or {}),
    }
    if reason is not None:
        update["status_info"] = reason[:256]
    if data is not None:
        update["status_data"] = dict(data)
    if status in (S.TERMINATED, S.CANCELLED, S.ERROR):
        update.setdefault("terminated_at", ts)
    stmt = sa.update(kernels).where(kernels.c.id.in_(ids)).where(kernels.c.status != status)
    if from_statuses is not None:
        stmt = stmt.where(kernels.c.status.in_(list(from_statuses)))
    rows = (await conn.execute(stmt.values(**update).returning(kernels.c.id))).scalars().all()
    return list(rows)


def derive_session_status(current: SessionStatus, kernel_statuses: Sequence[SessionStatus]) -> SessionStatus:
    """The session status that summarizes its kernels'.

    ERROR wins while anything is left (the lifecycle destroys the remaining kernels); a
    session whose kernels are all gone is TERMINATED (CANCELLED if none ever started);
    otherwise the least advanced kernel decides.
    """
    if current in (S.TERMINATED, S.CANCELLED) or not kernel_statuses:
        return current
    ks = set(kernel_statuses)
    if ks <= {S.CANCELLED}:
        return S.CANCELLED
    if ks <= FINAL_KERNEL_STATUSES:
        # ERROR sticks until the session is destroyed (destroy_session moves it to TERMINATING)
        return S.ERROR if S.ERROR in ks or current == S.ERROR else S.TERMINATED
    if S.ERROR in ks or current == S.ERROR:
        return S.ERROR
    if S.TERMINATING in ks:
        return S.TERMINATING
    if ks & {S.TERMINATED, S.CANCELLED}:
        # part of a cluster is gone: the rest is being torn down or runs degraded
        return S.TERMINATING if current == S.TERMINATING else S.RUNNING_DEGRADED
    if S.RESTARTING in ks:
        return S.RESTARTING
    progress = [k for k in kernel_statuses if k in PROGRESS]
    if progress:
        return min(progress, key=PROGRESS.index)
    return current


async def refresh_session(
    conn: AsyncConnection,
    session_id: uuid.UUID,
    *,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    force: SessionStatus | None = None,
    values: Mapping[str, Any] | None = None,
    locked: Any = None,
) -> tuple[SessionStatus, SessionStatus] | None:
    """Re-derive the session's status from its kernels (or set `force`); lock the session row
    (or use `locked`, what lock_session() returned earlier in this transaction).

    Returns (old, new) when the status changed, else None.
    """
    row = locked if locked is not None else await lock_session(conn, session_id)
    if row is None:
        return None
    current = SessionStatus(row.status)
    krows = (await conn.execute(
        sa.select(kernels.c.status, kernels.c.occupied_slots).where(kernels.c.session_id == session_id)
    )).all()
    new = force if force is not None else derive_session_status(current, [KernelStatus(k.status) for k in krows])
    if new == current and not values:
        return None
    ts = now()
    update: dict[str, Any] = dict(values or {})
    if new != current:
        update.update({
            "status": new, "status_changed": ts,
            "status_history": sessions.c.status_history.op("||")(history_entry(new, ts, reason)),
        })
        if reason is not None:
            update["status_info"] = reason[:256]
        if data is not None:
            update["status_data"] = dict(data)
        occupying = ResourceSlot()
        for k in krows:
            if k.status in RESOURCE_OCCUPYING_STATUSES:
                occupying = occupying + (k.occupied_slots or ResourceSlot())
        update["occupying_slots"] = occupying
        if new in (S.TERMINATED, S.CANCELLED):
            update["terminated_at"] = ts
            if row.result == SessionResult.UNDEFINED and new == S.CANCELLED:
                update["result"] = SessionResult.FAILURE
    await conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(**update))
    return (current, new) if new != current else None


async def lock_session(conn: AsyncConnection, session_id: uuid.UUID) -> Any:
    """Lock a session row for this transaction; its (status, session_type, result) or None."""
    return (await conn.execute(
        sa.select(sessions.c.status, sessions.c.session_type, sessions.c.result)
        .where(sessions.c.id == session_id).with_for_update()
    )).first()


async def lock_session_of_kernel(conn: AsyncConnection, kernel_id: uuid.UUID) -> uuid.UUID | None:
    """Lock the session row of a kernel (sessions before kernels, always: no deadlocks)."""
    sid = (await conn.execute(sa.select(kernels.c.session_id).where(kernels.c.id == kernel_id))).scalar()
    if sid is None:
        return None
    await conn.execute(sa.select(sessions.c.id).where(sessions.c.id == sid).with_for_update())
    return sid


async def sessions_of_kernels(conn: AsyncConnection, kernel_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(kernel_ids)
    if not ids:
        return []
    rows: Any = (await conn.execute(
        sa.select(kernels.c.session_id).distinct().where(kernels.c.id.in_(ids)))).scalars().all()
    return list(rows)
