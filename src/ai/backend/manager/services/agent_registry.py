"""The agent registry: agents' rows follow their heartbeats, and their kernels are reconciled.

- Every heartbeat (AgentHeartbeatEvent, common.agent_types.AgentInfo) upserts the agent's row
  as ALIVE with its slots, address, resource group, architecture and version. A LOST agent
  that heartbeats again is ALIVE again.
- The time of each agent's last heartbeat lives in Redis (live DB, hash
  `agent.last_seen.<etcd namespace>`, agent id -> unix time), shared by every manager process;
  check_lost() marks ALIVE agents LOST once it is older than manager.heartbeat-timeout and
  the agent does not answer a ping (a backlog of events must not make a live agent LOST),
  and fails the sessions whose kernels were still being created there.
- The heartbeat carries the agent's full kernel list, so reconcile_kernels() corrects any
  lost event: kernels the DB thinks live that the agent no longer has (or reports
  terminated) are finalized; containers the DB considers gone are destroyed on the agent;
  kernels still "being created" in the DB that run already trigger a re-drive of their
  session, which fetches the creation info (create_kernels is idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from ai.backend.common.events.agent import (
    AgentHeartbeatEvent,
    AgentStartedEvent,
    AgentTerminatedEvent,
)
from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.common.types import ResourceSlot

from ..context import RootContext
from ..models import agents, kernels, scaling_groups
from .session_termination import destroy_kernel, finalize_kernel
from .session_transitions import CREATION_STATUSES, FINAL_KERNEL_STATUSES, now

log = logging.getLogger(__name__)

PING_TIMEOUT = 2.0
# a heartbeat reconciles the agent's kernels at most this often (each one refreshes last_seen)
RECONCILE_INTERVAL = 2.0
UPSERT_INTERVAL = 5.0

S = SessionStatus

# kernels that must show up in their agent's heartbeat (creation is tracked by the re-drive)
_MUST_BE_ON_AGENT = frozenset({S.RUNNING, S.RUNNING_DEGRADED, S.RESTARTING, S.TERMINATING})


def last_seen_key(ctx: RootContext) -> str:
    return f"agent.last_seen.{ctx.namespace}"


def images_key(ctx: RootContext, agent_id: str) -> str:
    """A Redis set (live DB) of the image names the agent's last heartbeat listed."""
    return f"agent.images.{ctx.namespace}.{agent_id}"


async def _store_images(ctx: RootContext, agent_id: str, info: dict[str, Any]) -> None:
    names = [str(i[0]) for i in info.get("images") or [] if i]
    key = images_key(ctx, agent_id)
    async with ctx.redis.live.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if names:
            pipe.sadd(key, *names)
            pipe.expire(key, 600)
        await pipe.execute()


def _trigger(ctx: RootContext, name: str, *args: Any) -> None:
    func: Callable[..., None] | None = ctx.extensions.get(name)
    if func is not None:
        func(*args)


async def handle_heartbeat(ctx: RootContext, source: str, event: AgentHeartbeatEvent) -> None:
    info = event.agent_info
    agent_id = event.agent_id or info.get("id", "")
    if not agent_id or not info.get("addr"):
        log.warning("ignoring a heartbeat without an agent id/address from %r", source)
        return
    await ctx.redis.live.hset(last_seen_key(ctx), agent_id, str(time.time()))
    # the row is rewritten when something changed, and every UPSERT_INTERVAL anyway (which
    # also revives an agent another process marked LOST meanwhile)
    seen: dict[str, tuple[float, str]] = ctx.extensions.setdefault("agent_upserted", {})
    t = time.monotonic()
    fingerprint = repr((info.get("addr"), info.get("scaling_group"), info.get("available_resource_slots"),
                        info.get("version"), info.get("architecture"), info.get("images")))
    prev = seen.get(agent_id)
    if prev is not None and prev[1] == fingerprint and t - prev[0] < UPSERT_INTERVAL:
        revived: bool | None = False
    else:
        revived = await upsert_agent(ctx, agent_id, info)
        if revived is None:
            return
        seen[agent_id] = (t, fingerprint)
        await _store_images(ctx, agent_id, info)
    last: dict[str, float] = ctx.extensions.setdefault("agent_reconciled_at", {})
    t = time.monotonic()
    if revived or t - last.get(agent_id, 0.0) >= RECONCILE_INTERVAL:
        last[agent_id] = t
        await reconcile_kernels(ctx, agent_id, info["addr"], info.get("kernels") or [])
    # new capacity (a registration, a revival or changed slots) may let pending sessions run
    if revived:
        _trigger(ctx, "schedule_trigger")


async def handle_started(ctx: RootContext, source: str, event: AgentStartedEvent) -> None:
    await ctx.redis.live.hset(last_seen_key(ctx), event.agent_id, str(time.time()))
    _trigger(ctx, "schedule_trigger")


async def handle_terminated(ctx: RootContext, source: str, event: AgentTerminatedEvent) -> None:
    """A graceful agent shutdown: not schedulable any more; its kernels keep running."""
    async with ctx.db.begin() as conn:
        await conn.execute(sa.update(agents).where(agents.c.id == event.agent_id).values(
            status=AgentStatus.TERMINATED, status_changed=now()))
    await ctx.redis.live.hdel(last_seen_key(ctx), event.agent_id)
    ctx.extensions.get("agent_upserted", {}).pop(event.agent_id, None)


async def upsert_agent(ctx: RootContext, agent_id: str, info: dict[str, Any]) -> bool | None:
    """Insert or refresh the agent's row; True if it is new, revived or its capacity changed.

    None when the agent cannot be registered (its resource group does not exist).
    """
    sgroup = info.get("scaling_group") or "default"
    slots = ResourceSlot.from_json(info.get("available_resource_slots") or {})
    values: dict[str, Any] = {
        "status": AgentStatus.ALIVE,
        "region": info.get("region") or "local",
        "scaling_group": sgroup,
        "available_slots": slots,
        "resource_slot_types": info.get("resource_slot_types") or {},
        "addr": info["addr"],
        "public_host": info.get("public_host"),
        "version": info.get("version") or "",
        "architecture": info.get("architecture") or "x86_64",
        "compute_plugins": info.get("compute_plugins") or {},
        "auto_terminate_abusing_kernel": bool(info.get("auto_terminate_abusing_kernel", False)),
        "lost_at": None,
    }
    async with ctx.db.begin() as conn:
        old = (await conn.execute(
            sa.select(agents.c.status, agents.c.addr, agents.c.available_slots)
            .where(agents.c.id == agent_id).with_for_update())).first()
        if old is None:
            exists = (await conn.execute(
                sa.select(scaling_groups.c.name).where(scaling_groups.c.name == sgroup))).first()
            if exists is None:
                log.warning("agent %s reports resource group %r, which does not exist; not registered",
                            agent_id, sgroup)
                return None
            ts = now()
            await conn.execute(insert(agents).values(id=agent_id, status_changed=ts, first_contact=ts, **values)
                               .on_conflict_do_nothing())
            log.info("agent %s registered (%s, %s)", agent_id, info["addr"], slots.to_json())
            return True
        if old.status != AgentStatus.ALIVE:
            values["status_changed"] = now()
            log.info("agent %s is back (%s -> ALIVE)", agent_id, old.status)
        await conn.execute(sa.update(agents).where(agents.c.id == agent_id).values(**values))
    if old.addr != info["addr"]:
        await ctx.agents.forget(old.addr)
        await _repoint_kernels(ctx, agent_id, info["addr"])
    return old.status != AgentStatus.ALIVE or old.available_slots != slots


async def _repoint_kernels(ctx: RootContext, agent_id: str, addr: str) -> None:
    async with ctx.db.begin() as conn:
        await conn.execute(sa.update(kernels).where(
            (kernels.c.agent == agent_id) & kernels.c.status.not_in(list(FINAL_KERNEL_STATUSES))
        ).values(agent_addr=addr))


async def reconcile_kernels(ctx: RootContext, agent_id: str, addr: str, reported: list[dict[str, Any]]) -> None:
    by_id: dict[uuid.UUID, dict[str, Any]] = {}
    for k in reported:
        try:
            by_id[uuid.UUID(str(k["kernel_id"]))] = k
        except (KeyError, ValueError):
            continue
    async with ctx.db.connect() as conn:
        rows = (await conn.execute(
            sa.select(kernels.c.id, kernels.c.session_id, kernels.c.status, kernels.c.status_changed)
            .where((kernels.c.agent == agent_id) & kernels.c.status.not_in([S.TERMINATED, S.CANCELLED]))
        )).all()
        in_db = {r.id: r for r in rows}
        running_reported = [kid for kid, k in by_id.items() if k.get("status") != S.TERMINATED]
        unknown = set(running_reported) - set(in_db)
        if unknown:
            known_final: set[uuid.UUID] = set((await conn.execute(
                sa.select(kernels.c.id).where(kernels.c.id.in_(list(unknown))))).scalars())
        else:
            known_final = set()
    redrive: set[uuid.UUID] = set()
    vanished = [r for r in rows if r.id not in by_id and r.status in _MUST_BE_ON_AGENT]
    if vanished:
        # the heartbeat may predate the kernel's start (events queue up): ask the agent now
        by_id.update(await _confirm_absent(ctx, addr, vanished))
    for row in rows:
        rep = by_id.get(row.id)
        if rep is None:
            if row.status in _MUST_BE_ON_AGENT:
                await finalize_kernel(ctx, row.id, reason="kernel-vanished-from-agent")
        elif rep.get("status") == "UNCONFIRMED":
            continue
        elif rep.get("status") == S.TERMINATED:
            await finalize_kernel(ctx, row.id, reason="terminated-on-agent", exit_code=rep.get("exit_code"),
                                  batch_exit=row.status == S.RUNNING)
        elif row.status == S.ERROR:
            await destroy_kernel(ctx, row.id, row.session_id, addr, reason="failed-session-cleanup")
        elif rep.get("status") == S.RUNNING and row.status in CREATION_STATUSES:
            redrive.add(row.session_id)
    # containers the DB has finalized (or never heard of in a live state): stop them
    for kid in unknown:
        rep = by_id[kid]
        if rep.get("status") not in (S.RUNNING, S.RUNNING_DEGRADED):
            continue   # still being created or torn down: look again at the next heartbeat
        why = "terminated-stale-kernel" if kid in known_final else "terminated-unknown-kernel"
        log.info("agent %s runs kernel %s the manager considers gone; destroying it (%s)", agent_id, kid, why)
        try:
            await ctx.agents.call(addr, "destroy_kernel", str(kid), rep.get("session_id"), why, timeout=10)
        except Exception as e:
            log.warning("could not destroy stale kernel %s on %s: %r", kid, agent_id, e)
    for sid in redrive:
        _trigger(ctx, "redrive_trigger", sid)


async def _ping(ctx: RootContext, agent_id: str) -> bool:
    async with ctx.db.connect() as conn:
        addr = (await conn.execute(sa.select(agents.c.addr).where(agents.c.id == agent_id))).scalar()
    if not addr:
        return False
    try:
        await ctx.agents.call(addr, "ping", "lost-check", timeout=PING_TIMEOUT)
        return True
    except Exception:
        return False


async def _confirm_absent(ctx: RootContext, addr: str, candidates: list[Any]) -> dict[uuid.UUID, dict[str, Any]]:
    """What the agent says now about kernels a heartbeat did not list.

    Kernels it lists now are returned as reported; kernels it still lacks and that reached
    their status before this call are absent for sure (left out); anything else, or no
    answer at all, is "UNCONFIRMED" and looked at again with a later heartbeat.
    """
    asked_at = now()
    unconfirmed = {r.id: {"status": "UNCONFIRMED"} for r in candidates}
    try:
        info = await ctx.agents.call(addr, "agent_info", timeout=PING_TIMEOUT * 2)
    except Exception:
        return unconfirmed
    fresh = {}
    for k in info.get("kernels") or []:
        try:
            fresh[uuid.UUID(str(k["kernel_id"]))] = k
        except (KeyError, ValueError):
            continue
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for r in candidates:
        if r.id in fresh:
            out[r.id] = fresh[r.id]
        elif r.status_changed is None or r.status_changed >= asked_at:
            out[r.id] = {"status": "UNCONFIRMED"}
    return out


async def check_lost(ctx: RootContext) -> list[str]:
    """Mark ALIVE agents without a recent heartbeat LOST; fail sessions being created there."""
    timeout = float(ctx.local_config["manager"]["heartbeat-timeout"])
    async with ctx.db.connect() as conn:
        alive: list[str] = list((await conn.execute(
            sa.select(agents.c.id).where(agents.c.status == AgentStatus.ALIVE))).scalars())
    if not alive:
        return []
    stamps = await ctx.redis.live.hmget(last_seen_key(ctx), alive)
    t = time.time()
    lost: list[str] = []
    for agent_id, stamp in zip(alive, stamps, strict=True):
        if stamp is None:  # e.g. Redis was flushed: give it a full timeout from now
            await ctx.redis.live.hset(last_seen_key(ctx), agent_id, str(t))
        elif t - float(stamp) > timeout:
            lost.append(agent_id)
    if not lost:
        return []
    # a backlog of events can delay heartbeats: an agent that still answers is not lost
    answers = await asyncio.gather(*(_ping(ctx, agent_id) for agent_id in lost))
    for agent_id, alive_now in zip(list(lost), answers, strict=True):
        if alive_now:
            lost.remove(agent_id)
            await ctx.redis.live.hset(last_seen_key(ctx), agent_id, str(time.time()))
    if not lost:
        return []
    async with ctx.db.begin() as conn:
        lost = list((await conn.execute(
            sa.update(agents).where(agents.c.id.in_(lost) & (agents.c.status == AgentStatus.ALIVE))
            .values(status=AgentStatus.LOST, status_changed=now(), lost_at=now()).returning(agents.c.id)
        )).scalars())
        creating = (await conn.execute(
            sa.select(kernels.c.id, kernels.c.session_id, kernels.c.agent)
            .where(kernels.c.agent.in_(lost) & kernels.c.status.in_(list(CREATION_STATUSES)))
        )).all()
    for agent_id in lost:
        log.warning("agent %s missed heartbeats for %.0fs: LOST", agent_id, timeout)
        ctx.extensions.get("agent_upserted", {}).pop(agent_id, None)
    from .session_lifecycle import fail_session

    for sid in {r.session_id for r in creating}:
        agents_of = sorted({r.agent for r in creating if r.session_id == sid})
        await fail_session(ctx, sid, reason=f"agent-lost: {', '.join(agents_of)}",
                           failed_kernels={r.id for r in creating if r.session_id == sid},
                           data={"agents": agents_of})
    return lost
