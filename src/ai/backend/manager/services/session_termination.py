"""Destroying sessions: PENDING ones are CANCELLED at once, others go TERMINATING until their
agents confirm each kernel is gone.

destroy_kernel is idempotent on the agent (an unknown kernel is reported terminated), so the
lifecycle tick (session_lifecycle.redrive_terminating) simply calls it again for kernels that
stay TERMINATING, and fails them to ERROR once the TERMINATING deadline passes. `forced`
finalizes kernels even when their agent cannot be reached; a container that later turns up
is destroyed by the heartbeat reconciliation (agent_registry).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import sqlalchemy as sa

from ai.backend.common.rpc import RPCError
from ai.backend.common.status import LIVE_STATUSES, SessionResult, SessionStatus, SessionTypes

from ..context import RootContext
from ..errors import ObjectNotFound
from ..models import kernels, session_dependencies, sessions
from .session_announce import announce
from .session_transitions import lock_session_of_kernel, refresh_session, transit_kernels

log = logging.getLogger(__name__)

S = SessionStatus


def rpc_timeout(ctx: RootContext) -> float:
    return float(ctx.local_config.get("scheduler", {}).get("rpc-timeout", 30.0))


async def destroy_session(ctx: RootContext, session_id: uuid.UUID, *, forced: bool = False,
                          recursive: bool = False, reason: str = "user-requested") -> dict[str, Any]:
    """Destroy a session; returns {"stats": <the main kernel's last stats or {}>}.

    recursive also destroys (first) the live sessions that depend on this one.
    """
    if recursive:
        async with ctx.db.connect() as conn:
            dependents: list[uuid.UUID] = list((await conn.execute(
                sa.select(session_dependencies.c.session_id)
                .select_from(session_dependencies.join(sessions, sessions.c.id == session_dependencies.c.session_id))
                .where((session_dependencies.c.depends_on == session_id)
                       & sessions.c.status.in_(list(LIVE_STATUSES | {S.ERROR})))
            )).scalars())
        for dep in dependents:
            await destroy_session(ctx, dep, forced=forced, recursive=True, reason="dependency-destroyed")

    async with ctx.db.begin() as conn:
        row = (await conn.execute(
            sa.select(sessions.c.status).where(sessions.c.id == session_id).with_for_update())).first()
        if row is None:
            raise ObjectNotFound(f"no session {session_id}", object_name="session")
        status = S(row.status)
        if status in (S.TERMINATED, S.CANCELLED):
            return {"stats": {}}
        krows = (await conn.execute(
            sa.select(kernels.c.id, kernels.c.status, kernels.c.agent, kernels.c.agent_addr)
            .where(kernels.c.session_id == session_id))).all()
        if status == S.PENDING:
            await transit_kernels(conn, [k.id for k in krows], S.CANCELLED, reason=reason,
                                  from_statuses=[S.PENDING])
            change = await refresh_session(conn, session_id, force=S.CANCELLED, reason=reason)
            targets: list[Any] = []
        else:
            # ERROR kernels placed on an agent are destroyed there too, to be sure
            targets = [k for k in krows if k.agent_addr is not None and k.status not in (S.TERMINATED, S.CANCELLED)]
            target_ids = {k.id for k in targets}
            await transit_kernels(conn, target_ids, S.TERMINATING, reason=reason)
            await transit_kernels(conn, [k.id for k in krows if k.id not in target_ids
                                         and k.status not in (S.TERMINATED, S.CANCELLED)],
                                  S.TERMINATED, reason=reason)
            change = await refresh_session(conn, session_id, force=S.TERMINATING, reason=reason)
            change = await refresh_session(conn, session_id, reason=reason) or change
    await announce(ctx, session_id, change, reason)
    if status == S.PENDING:
        _request_schedule(ctx)
        return {"stats": {}}
    results = await asyncio.gather(*(
        destroy_kernel(ctx, k.id, session_id, k.agent_addr, reason=reason, forced=forced) for k in targets))
    stats: dict[str, Any] = {}
    for res in results:
        if res and res.get("last_stat"):
            stats = res["last_stat"]
            break
    _request_schedule(ctx)
    return {"stats": stats}


async def destroy_kernel(ctx: RootContext, kernel_id: uuid.UUID, session_id: uuid.UUID, agent_addr: str,
                         *, reason: str, forced: bool = False) -> dict[str, Any] | None:
    """Ask the agent to destroy one kernel; on confirmation (or when forced) finalize it.

    Returns the agent's answer, or None when the agent did not confirm (re-driven later).
    """
    result: dict[str, Any] | None
    try:
        result = await ctx.agents.call(agent_addr, "destroy_kernel", str(kernel_id), str(session_id), reason,
                                       timeout=rpc_timeout(ctx))
    except RPCError as e:
        log.warning("destroying kernel %s on %s failed: %s", kernel_id, agent_addr, e)
        result = None
        if not forced:
            return None
        reason = f"{reason} (forced; agent error: {e})"
    except Exception as e:   # timeout, connection trouble
        log.warning("destroying kernel %s on %s: agent unreachable (%r)", kernel_id, agent_addr, e)
        result = None
        if not forced:
            return None
        reason = f"{reason} (forced; agent unreachable)"
    await finalize_kernel(ctx, kernel_id, reason=reason, exit_code=(result or {}).get("exit_code"),
                          last_stat=(result or {}).get("last_stat"))
    return result or {}


async def finalize_kernel(ctx: RootContext, kernel_id: uuid.UUID, *, reason: str,
                          exit_code: int | None = None, last_stat: Any = None,
                          batch_exit: bool = False) -> None:
    """The kernel's container is gone: TERMINATED, then re-derive its session.

    batch_exit: the kernel ended by itself, so its exit code decides a batch session's result.
    """
    values: dict[str, Any] = {}
    if exit_code is not None:   # a batch command's exit code, recorded earlier, stays
        values["exit_code"] = sa.func.coalesce(kernels.c.exit_code, exit_code)
    if last_stat:
        values["last_stat"] = last_stat
    async with ctx.db.begin() as conn:
        sid = await lock_session_of_kernel(conn, kernel_id)
        if sid is None:
            return
        changed = await transit_kernels(
            conn, [kernel_id], S.TERMINATED, reason=reason, values=values,
            from_statuses=[s for s in S if s not in (S.TERMINATED, S.CANCELLED)])
        if not changed:
            return
        if batch_exit:
            await apply_batch_result(conn, sid, kernel_id, exit_code)
        change = await refresh_session(conn, sid, reason=reason)
    await announce(ctx, sid, change, reason)
    _request_schedule(ctx)


async def apply_batch_result(conn: Any, session_id: uuid.UUID, kernel_id: uuid.UUID, exit_code: int | None) -> None:
    """A batch session's result follows its main kernel's exit code (if not decided yet)."""
    if exit_code is None:
        return
    await conn.execute(
        sa.update(sessions)
        .where((sessions.c.id == session_id) & (sessions.c.session_type == SessionTypes.BATCH)
               & (sessions.c.result == SessionResult.UNDEFINED)
               & sa.exists().where((kernels.c.id == kernel_id) & (kernels.c.cluster_role == "main")))
        .values(result=SessionResult.SUCCESS if exit_code == 0 else SessionResult.FAILURE))


def _request_schedule(ctx: RootContext) -> None:
    """Freed (or no longer waiting) resources: let the scheduler run a pass soon."""
    trigger = ctx.extensions.get("schedule_trigger")
    if trigger is not None:
        trigger()
