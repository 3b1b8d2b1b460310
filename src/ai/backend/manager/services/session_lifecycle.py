"""Kernel events drive session statuses; failures end in ERROR with a reason.

Handlers here are idempotent (forward-only transitions, see session_transitions), because
anycast events are redelivered when a handler fails and the heartbeat reconciliation and
the re-drive may report the same fact again.

Batch sessions: the agent runs the startup command and reports session_success /
session_failure with the exit code; the session's result is set from it and the session is
destroyed ("task-finished" / "task-failed"), ending TERMINATED with result SUCCESS/FAILURE.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ai.backend.common.events.kernel import (
    KernelCancelledEvent,
    KernelCreatingEvent,
    KernelLifecycleEvent,
    KernelPreparingEvent,
    KernelPullingEvent,
    KernelStartedEvent,
    KernelTerminatedEvent,
)
from ai.backend.common.events.session import (
    DoTerminateSessionEvent,
    SessionFailureEvent,
    SessionSuccessEvent,
)
from ai.backend.common.status import SessionResult, SessionStatus

from ..context import RootContext
from ..errors import ObjectNotFound
from ..models import kernels, sessions
from .session_announce import announce
from .session_start import mark_running
from .session_termination import destroy_kernel, destroy_session, finalize_kernel
from .session_transitions import (
    CREATION_STATUSES,
    FINAL_KERNEL_STATUSES,
    before,
    lock_session_of_kernel,
    refresh_session,
    transit_kernels,
)

log = logging.getLogger(__name__)

S = SessionStatus


async def fail_session(ctx: RootContext, session_id: uuid.UUID, *, reason: str,
                       failed_kernels: Iterable[uuid.UUID] = (), data: Mapping[str, Any] | None = None) -> None:
    """Move a session to ERROR: the failed kernels (and those never sent to an agent) become
    ERROR; any other live kernel is destroyed on its agent (TERMINATING, re-driven)."""
    failed = set(failed_kernels)
    async with ctx.db.begin() as conn:
        row = (await conn.execute(sa.select(sessions.c.status).where(sessions.c.id == session_id)
                                  .with_for_update())).first()
        if row is None or S(row.status) in (S.TERMINATED, S.CANCELLED):
            return
        krows = (await conn.execute(
            sa.select(kernels.c.id, kernels.c.status, kernels.c.agent_addr)
            .where(kernels.c.session_id == session_id))).all()
        live = [k for k in krows if k.status not in FINAL_KERNEL_STATUSES]
        to_error = [k.id for k in live if k.id in failed or not k.agent_addr or k.status == S.SCHEDULED]
        to_destroy = [k for k in live if k.id not in set(to_error) and k.status != S.TERMINATING]
        status_data = {"error": {"reason": reason, **(data or {})}}
        await transit_kernels(conn, to_error, S.ERROR, reason=reason, data=status_data)
        await transit_kernels(conn, [k.id for k in to_destroy], S.TERMINATING, reason=reason)
        change = await refresh_session(conn, session_id, force=S.ERROR, reason=reason, data=status_data)
    log.warning("session %s failed: %s", session_id, reason)
    await announce(ctx, session_id, change, reason)
    if to_destroy:
        await asyncio.gather(*(destroy_kernel(ctx, k.id, session_id, k.agent_addr, reason=reason)
                               for k in to_destroy))
    trigger = ctx.extensions.get("schedule_trigger")
    if trigger is not None:
        trigger()


# --- kernel events from agents ------------------------------------------------------------

_PROGRESS_EVENTS: dict[type[KernelLifecycleEvent], SessionStatus] = {
    KernelPreparingEvent: S.PREPARING,
    KernelPullingEvent: S.PULLING,
    KernelCreatingEvent: S.CREATING,
}


async def on_kernel_progress(ctx: RootContext, source: str, event: KernelLifecycleEvent) -> None:
    status = _PROGRESS_EVENTS[type(event)]
    async with ctx.db.connect() as conn:   # usually stale: the start path is ahead of these events
        current = (await conn.execute(sa.select(kernels.c.status).where(kernels.c.id == event.kernel_id))).scalar()
    if current is None or current not in before(status):
        return
    async with ctx.db.begin() as conn:
        sid = await lock_session_of_kernel(conn, event.kernel_id)
        if sid is None:
            return
        changed = await transit_kernels(conn, [event.kernel_id], status, from_statuses=before(status),
                                        reason=event.reason or event.name)
        change = await refresh_session(conn, sid, reason=event.name) if changed else None
    await announce(ctx, sid, change, event.reason)


async def on_kernel_started(ctx: RootContext, source: str, event: KernelStartedEvent) -> None:
    await mark_running(ctx, event.kernel_id, event.creation_info)


async def on_kernel_cancelled(ctx: RootContext, source: str, event: KernelCancelledEvent) -> None:
    """Creation failed on the agent (it has cleaned up): ERROR, unless we asked for it."""
    async with ctx.db.connect() as conn:
        row = (await conn.execute(sa.select(kernels.c.status, kernels.c.session_id)
                                  .where(kernels.c.id == event.kernel_id))).first()
    if row is None:
        return
    if row.status == S.TERMINATING:
        await finalize_kernel(ctx, event.kernel_id, reason=event.reason or "cancelled")
    elif row.status in CREATION_STATUSES:
        await fail_session(ctx, row.session_id, reason=f"kernel-creation-failed: {event.reason}"[:256],
                           failed_kernels={event.kernel_id}, data={"kernel_id": str(event.kernel_id),
                                                                   "agent": source})


async def on_kernel_terminated(ctx: RootContext, source: str, event: KernelTerminatedEvent) -> None:
    async with ctx.db.connect() as conn:
        status = (await conn.execute(sa.select(kernels.c.status).where(kernels.c.id == event.kernel_id))).scalar()
    if status is None:
        return
    if event.container_log:
        async with ctx.db.begin() as conn:
            await conn.execute(sa.update(kernels).where(kernels.c.id == event.kernel_id)
                               .values(container_log=event.container_log.encode("utf-8", "replace")))
    await finalize_kernel(ctx, event.kernel_id, reason=event.reason or "terminated", exit_code=event.exit_code,
                          batch_exit=status == S.RUNNING)


# --- session-level requests ---------------------------------------------------------------

async def on_batch_result(ctx: RootContext, source: str, event: SessionSuccessEvent | SessionFailureEvent) -> None:
    """An agent reports the exit code of a batch session's startup command."""
    if source == "manager":   # our own announcement of an ERROR, not an agent's report
        return
    success = isinstance(event, SessionSuccessEvent)
    async with ctx.db.begin() as conn:
        await conn.execute(
            sa.update(sessions).where((sessions.c.id == event.session_id)
                                      & (sessions.c.result == SessionResult.UNDEFINED))
            .values(result=SessionResult.SUCCESS if success else SessionResult.FAILURE))
        await conn.execute(
            sa.update(kernels).where((kernels.c.session_id == event.session_id) & (kernels.c.cluster_role == "main"))
            .values(exit_code=event.exit_code))
    try:
        await destroy_session(ctx, event.session_id, reason="task-finished" if success else "task-failed")
    except ObjectNotFound:
        pass


async def on_do_terminate(ctx: RootContext, source: str, event: DoTerminateSessionEvent) -> None:
    try:
        await destroy_session(ctx, event.session_id, reason=event.reason or "terminated-by-manager")
    except ObjectNotFound:
        pass


async def fail_kernel_terminating(ctx: RootContext, kernel_id: uuid.UUID, reason: str) -> None:
    """A kernel whose destruction was never confirmed before its deadline."""
    async with ctx.db.begin() as conn:
        sid = await lock_session_of_kernel(conn, kernel_id)
        if sid is None:
            return
        changed = await transit_kernels(conn, [kernel_id], S.ERROR, from_statuses=[S.TERMINATING], reason=reason)
        change = await refresh_session(conn, sid, reason=reason) if changed else None
    await announce(ctx, sid, change, reason)
