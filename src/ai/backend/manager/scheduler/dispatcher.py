"""The scheduler loop: per resource group, one pass places as many pending sessions as fit.

A pass runs under a distributed lock per resource group (ctx.distributed_lock: a Postgres
advisory lock by default, so several manager processes are safe) and inside one
transaction: load the pending sessions (row-locked, skipping rows another transaction
holds), the ALIVE agents with occupancy derived from their live kernels, usage and policy
limits; let the group's sequencer/predicates/selector (scaling_groups.scheduler and
scheduler_opts) decide; write every decision back. Placed sessions become SCHEDULED
(kernels get agent, agent_addr and occupied_slots); the others keep PENDING with the reason
in status_info and status_data["scheduler"] (check, message, details, retries, last_try).

Passes are requested by events (session enqueued, do_schedule, kernels terminated, agents
registering) through SchedulerDispatcher.request() and run by a timer anyway, so a lost
trigger only delays. After the commit the placed sessions are started (session_start).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import SessionStatus
from ai.backend.common.types import ResourceSlot

from ..context import RootContext
from ..models import kernels, scaling_groups, sessions
from ..services.scaling_groups import allowed_names
from ..services.session_announce import announce
from ..services.session_transitions import history_entry, now
from . import loader
from .planner import PassResult, plan_pass
from .selectors import load_selector
from .sequencers import load_sequencer
from .types import PredicateResult

log = logging.getLogger(__name__)

S = SessionStatus


def _scheduler_of(row: Any) -> tuple[Any, Any]:
    opts = dict(row.scheduler_opts or {})
    sequencer = load_sequencer(row.scheduler or "fifo", opts)
    selector = load_selector(str(opts.get("agent_selector") or opts.get("selector") or "concentrated"), opts)
    return sequencer, selector


class SchedulerDispatcher:
    def __init__(self, ctx: RootContext, start: Callable[[uuid.UUID], None]) -> None:
        self.ctx = ctx
        self.start = start                     # begin starting a SCHEDULED session
        cfg = ctx.local_config.get("scheduler") or {}
        self.tick_interval = float(cfg.get("tick-interval", 2.0))
        self._wake = asyncio.Event()
        self.passes = 0

    def request(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.tick_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.schedule()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduling pass failed")
                await asyncio.sleep(0.5)

    async def schedule(self) -> None:
        await self._assign_missing_groups()
        async with self.ctx.db.connect() as conn:
            names: list[str] = list((await conn.execute(
                sa.select(sessions.c.scaling_group_name).distinct().where(
                    (sessions.c.status == S.PENDING) & sessions.c.scaling_group_name.is_not(None))
            )).scalars())
        for sgroup in names:
            await self.schedule_group(sgroup)

    async def _assign_missing_groups(self) -> None:
        """Pending sessions created without a resource group get the first one they may use."""
        async with self.ctx.db.begin() as conn:
            rows = (await conn.execute(
                sa.select(sessions.c.id, sessions.c.domain_name, sessions.c.group_id, sessions.c.access_key)
                .where((sessions.c.status == S.PENDING) & sessions.c.scaling_group_name.is_(None))
                .with_for_update(skip_locked=True))).all()
            for r in rows:
                names = await allowed_names(conn, domain_name=r.domain_name, group_id=r.group_id,
                                            access_key=r.access_key)
                if names:
                    await conn.execute(sa.update(sessions).where(sessions.c.id == r.id)
                                       .values(scaling_group_name=names[0]))
                    await conn.execute(sa.update(kernels).where(kernels.c.session_id == r.id)
                                       .values(scaling_group=names[0]))

    async def schedule_group(self, sgroup: str) -> PassResult | None:
        t0 = time.perf_counter()
        async with self.ctx.distributed_lock(f"scheduler.{sgroup}", timeout=60):
            async with self.ctx.db.begin() as conn:
                result = await self._pass(conn, sgroup)
        self.passes += 1
        if result is None:
            return None
        if result.scheduled:
            log.debug("pass over %s placed %d session(s) in %.3fs", sgroup, len(result.scheduled),
                      time.perf_counter() - t0)
        for sess, _ in result.scheduled:
            await announce(self.ctx, sess.session_id, (S.PENDING, S.SCHEDULED), "scheduled")
            self.start(sess.session_id)
        for sess, check in result.cancelled:
            await announce(self.ctx, sess.session_id, (S.PENDING, S.CANCELLED), check.message)
        return result

    async def _pass(self, conn: AsyncConnection, sgroup: str) -> PassResult | None:
        sg = (await conn.execute(sa.select(scaling_groups).where(scaling_groups.c.name == sgroup))).first()
        at = now()
        previous: dict[uuid.UUID, Any] = {}
        pending, waiting = await loader.load_pending(conn, sgroup, at, previous)
        await _record_pending(conn, [(row.id, PredicateResult(
            False, "starts_at", f"waiting until {row.starts_at.isoformat()}",
            {"starts_at": row.starts_at.isoformat()}), 0) for row in waiting], previous, at)
        if not pending:
            return None
        if sg is None or not sg.is_active:
            await _record_pending(conn, [(p.session_id, PredicateResult(
                False, "scaling_group", f"resource group {sgroup!r} does not exist or is inactive",
                {"scaling_group": sgroup}), p.retries) for p in pending], previous, at)
            return None
        sequencer, selector = _scheduler_of(sg)
        agent_views = await loader.load_agents(conn, sgroup)
        state = await loader.load_state(conn, agent_views)
        limits = await loader.load_limits(conn, pending)
        result = plan_pass(pending, agent_views, state, lambda p: limits[p.session_id], sequencer, selector)
        addr = {a.agent_id: a.addr for a in agent_views}
        await _record_scheduled(conn, result.scheduled, addr, at)
        await _record_pending(conn, [
            (sess.session_id, check, sess.retries + (1 if sess.session_id in result.retried else 0))
            for sess, check in result.pending], previous, at)
        for sess, check in result.cancelled:
            await _record_cancelled(conn, sess.session_id, check, at)
        return result


async def _record_scheduled(conn: AsyncConnection, scheduled: list[tuple[Any, list[Any]]],
                            addr: dict[str, str], at: Any) -> None:
    """All placements of a pass in two executemany statements."""
    if not scheduled:
        return
    krows, srows = [], []
    for sess, placements in scheduled:
        total = ResourceSlot()
        for pl in placements:
            total = total + pl.slots
            krows.append({"b_id": pl.kernel_id, "b_agent": pl.agent_id, "b_addr": addr.get(pl.agent_id),
                          "b_slots": pl.slots})
        agent_ids = sorted({pl.agent_id for pl in placements})
        srows.append({"b_id": sess.session_id, "b_agents": agent_ids, "b_slots": total,
                      "b_data": {"scheduler": {"agents": agent_ids, "scheduled_at": at.isoformat()}}})
    await conn.execute(
        sa.update(kernels).where(kernels.c.id == sa.bindparam("b_id")).values(
            agent=sa.bindparam("b_agent"), agent_addr=sa.bindparam("b_addr"),
            occupied_slots=sa.bindparam("b_slots", type_=kernels.c.occupied_slots.type),
            status=S.SCHEDULED, status_changed=at, status_info="scheduled", status_data=None,
            status_history=kernels.c.status_history.op("||")(history_entry(S.SCHEDULED, at))),
        krows)
    await conn.execute(
        sa.update(sessions).where(sessions.c.id == sa.bindparam("b_id")).values(
            status=S.SCHEDULED, status_changed=at, status_info="scheduled",
            status_data=sa.bindparam("b_data", type_=sessions.c.status_data.type),
            agent_ids=sa.bindparam("b_agents", type_=sessions.c.agent_ids.type),
            occupying_slots=sa.bindparam("b_slots", type_=sessions.c.occupying_slots.type),
            status_history=sessions.c.status_history.op("||")(history_entry(S.SCHEDULED, at))),
        srows)


async def _record_pending(conn: AsyncConnection, decisions: list[tuple[uuid.UUID, PredicateResult, int]],
                          previous: dict[uuid.UUID, Any], at: Any) -> None:
    """Store why each session still waits; rows whose reason did not change are left alone."""
    rows = []
    for sid, check, retries in decisions:
        detail = {k: v for k, v in check.data.items() if k != "final"}
        prev = ((previous.get(sid) or {}).get("scheduler") or {}) if isinstance(previous.get(sid), dict) else {}
        if prev.get("check") == check.check and prev.get("msg") == check.message \
                and prev.get("retries") == retries and all(prev.get(k) == v for k, v in detail.items()):
            continue
        rows.append({"b_id": sid, "b_info": f"{check.check}: {check.message}"[:256],
                     "b_data": {"scheduler": {"retries": retries, "last_try": at.isoformat(), "check": check.check,
                                              "msg": check.message, **detail}}})
    if rows:
        await conn.execute(
            sa.update(sessions).where(sessions.c.id == sa.bindparam("b_id")).values(
                status_info=sa.bindparam("b_info"),
                status_data=sa.bindparam("b_data", type_=sessions.c.status_data.type)),
            rows)


async def _record_cancelled(conn: AsyncConnection, session_id: uuid.UUID, check: PredicateResult, at: Any) -> None:
    reason = f"{check.check}: {check.message}"[:256]
    data = {"scheduler": {"check": check.check, "msg": check.message, **check.data}}
    await conn.execute(sa.update(kernels).where(kernels.c.session_id == session_id).values(
        status=S.CANCELLED, status_changed=at, status_info=reason, terminated_at=at,
        status_history=kernels.c.status_history.op("||")(history_entry(S.CANCELLED, at, reason))))
    await conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(
        status=S.CANCELLED, status_changed=at, status_info=reason, status_data=data, terminated_at=at,
        status_history=sessions.c.status_history.op("||")(history_entry(S.CANCELLED, at, reason))))
