"""Starting scheduled sessions on their agents: check_and_pull, then create_kernels.

drive_session() takes a session in SCHEDULED..CREATING as far as it can and is safe to call
again at any time: both agent calls are idempotent (a repeated create_kernels joins the
creation in progress or returns the running kernel's info). The lifecycle tick calls it again
for sessions that have not reached RUNNING, until their status deadline passes; so a lost
agent event or a timed-out call only delays a session, never strands it.

Status steps: SCHEDULED -> PREPARING (drive begins) -> PULLING (an image the agent's last
heartbeat did not list is being pulled; check_and_pull is skipped when all are listed) ->
PREPARED (images present) -> CREATING (create_kernels sent) -> RUNNING (the call's
answer or the kernel_started event, whichever comes first).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ai.backend.common.agent_types import ClusterInfo, ImageRef, KernelCreationConfig
from ai.backend.common.rpc import RPCError
from ai.backend.common.status import SessionStatus
from ai.backend.common.types import ResourceSlot

from ..context import RootContext
from ..models import kernels, sessions
from .session_announce import announce
from .session_transitions import (
    CREATION_STATUSES,
    before,
    lock_session,
    refresh_session,
    transit_kernels,
)

log = logging.getLogger(__name__)

S = SessionStatus

# remote errors that mean "try again later", not "this session cannot start"
TRANSIENT_REMOTE_ERRORS = frozenset({"AgentNotReady", "TimeoutError"})


def db_slots(ctx: RootContext) -> asyncio.Semaphore:
    """Bounds the start path's concurrent transactions to the DB pool's persistent size, so
    many drives waiting on agents never churn through overflow connections."""
    sem = ctx.extensions.get("start_db_slots")
    if sem is None:
        sem = asyncio.Semaphore(int((ctx.local_config.get("db") or {}).get("pool-size", 8)))
        ctx.extensions["start_db_slots"] = sem
    return sem


def _sched_cfg(ctx: RootContext) -> Mapping[str, Any]:
    return ctx.local_config.get("scheduler") or {}


def _environ(session_env: Any, kernel_env: Any) -> dict[str, str]:
    env: dict[str, str] = {str(k): str(v) for k, v in (session_env or {}).items()}
    if isinstance(kernel_env, dict):
        env.update({str(k): str(v) for k, v in kernel_env.items()})
    else:
        for item in kernel_env or []:
            key, sep, value = str(item).partition("=")
            if sep:
                env[key] = value
    return env


def kernel_config(sess: Any, k: Any) -> KernelCreationConfig:
    """The create_kernels argument for one kernel row (common.agent_types)."""
    image: ImageRef = {"canonical": k.image, "architecture": k.architecture}
    if k.registry:
        image["registry"] = k.registry
    slots = k.occupied_slots or k.requested_slots or ResourceSlot()
    cfg: KernelCreationConfig = {
        "kernel_id": str(k.id),
        "session_id": str(sess.id),
        "session_type": str(sess.session_type.value if hasattr(sess.session_type, "value") else sess.session_type),  # type: ignore[typeddict-item]
        "image": image,
        "cluster_role": k.cluster_role,
        "cluster_idx": k.cluster_idx,
        "local_rank": k.local_rank,
        "cluster_hostname": k.cluster_hostname,
        "resource_slots": slots.to_json(),
        "resource_opts": dict(k.resource_opts or {}),
        "environ": _environ(sess.environ, k.environ),
        "mounts": list(k.vfolder_mounts if k.vfolder_mounts is not None else (sess.vfolder_mounts or [])),
        "bootstrap_script": k.bootstrap_script or sess.bootstrap_script,
        "startup_command": k.startup_command or sess.startup_command,
        "preopen_ports": list(k.preopen_ports or []),
        "internal_data": k.internal_data,
    }
    if k.uid is not None:
        cfg["uid"] = k.uid
    if k.main_gid is not None:
        cfg["gid"] = k.main_gid
    return cfg


def cluster_info(sess: Any, krows: list[Any]) -> ClusterInfo:
    replicas = Counter(k.cluster_role for k in krows)
    mode = str(sess.cluster_mode.value if hasattr(sess.cluster_mode, "value") else sess.cluster_mode)
    single_host = len({k.agent for k in krows}) == 1
    info: ClusterInfo = {
        "mode": mode,  # type: ignore[typeddict-item]
        "size": len(krows),
        "replicas": dict(replicas),
        # kernels on one agent share a private bridge network named after the session
        "network_name": f"bai-{sess.id.hex[:16]}" if len(krows) > 1 and single_host else None,
    }
    return info


async def mark_running(ctx: RootContext, kernel_id: uuid.UUID, info: Mapping[str, Any]) -> None:
    """Record a started kernel's creation info (from the RPC answer or kernel_started)."""
    values: dict[str, Any] = {
        "container_id": info.get("container_id"),
        "kernel_host": info.get("kernel_host"),
        "repl_in_port": info.get("repl_in_port"),
        "repl_out_port": info.get("repl_out_port"),
        "service_ports": list(info.get("service_ports") or []),
    }
    if info.get("attached_devices") is not None:
        values["attached_devices"] = info["attached_devices"]
    async with db_slots(ctx), ctx.db.connect() as conn:   # most often already recorded (the RPC answer and the event)
        row = (await conn.execute(sa.select(kernels.c.session_id, kernels.c.status)
                                  .where(kernels.c.id == kernel_id))).first()
    if row is None or row.status not in CREATION_STATUSES:
        return
    sid = row.session_id
    async with db_slots(ctx), ctx.db.begin() as conn:
        locked = await lock_session(conn, sid)
        changed = await transit_kernels(conn, [kernel_id], S.RUNNING, from_statuses=CREATION_STATUSES,
                                        reason="kernel-started", values=values)
        change = await refresh_session(conn, sid, reason="kernel-started", locked=locked) if changed else None
    await announce(ctx, sid, change, "kernel-started")


async def _step(ctx: RootContext, session_id: uuid.UUID, kernel_ids: list[uuid.UUID],
                statuses: list[SessionStatus], reason: str) -> bool:
    """Move these kernels forward through `statuses`; False if none of them is still being created."""
    async with db_slots(ctx), ctx.db.begin() as conn:
        locked = await lock_session(conn, session_id)
        if locked is None:
            return False
        changed = []
        for status in statuses:
            changed += await transit_kernels(conn, kernel_ids, status, from_statuses=before(status), reason=reason)
        if changed:
            alive = True
        else:   # a re-drive: are these kernels still being created?
            alive = bool((await conn.execute(sa.select(sa.func.count()).select_from(kernels).where(
                kernels.c.id.in_(kernel_ids) & kernels.c.status.in_(list(CREATION_STATUSES))))).scalar_one())
        change = await refresh_session(conn, session_id, reason=reason, locked=locked) if changed else None
    await announce(ctx, session_id, change, reason)
    return bool(alive)


async def drive_session(ctx: RootContext, session_id: uuid.UUID) -> None:
    async with db_slots(ctx), ctx.db.connect() as conn:
        sess = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).first()
        if sess is None or S(sess.status) not in CREATION_STATUSES:
            return
        krows = list((await conn.execute(
            sa.select(kernels).where(kernels.c.session_id == session_id)
            .order_by(kernels.c.cluster_role, kernels.c.cluster_idx))).all())
    todo = [k for k in krows if k.status in CREATION_STATUSES]
    if not todo:
        return
    unplaced = [k for k in todo if not k.agent_addr]
    if unplaced:
        from .session_lifecycle import fail_session

        await fail_session(ctx, session_id, reason="kernel-without-agent",
                           failed_kernels={k.id for k in unplaced})
        return
    if not await _step(ctx, session_id, [k.id for k in todo], [S.PREPARING], "preparing"):
        return
    by_agent: dict[str, list[Any]] = defaultdict(list)
    for k in todo:
        by_agent[k.agent_addr].append(k)
    info = cluster_info(sess, krows)
    await asyncio.gather(*(_drive_on_agent(ctx, sess, addr, ks, info) for addr, ks in by_agent.items()))


async def _missing_images(ctx: RootContext, agent_id: str, names: list[str]) -> list[str] | None:
    """Images the agent's last heartbeat did not list; None when that list is unknown."""
    from .agent_registry import images_key

    key = images_key(ctx, agent_id)
    async with ctx.redis.live.pipeline(transaction=False) as pipe:
        pipe.exists(key)
        for name in names:
            pipe.sismember(key, name)
        found = await pipe.execute()
    if not found[0]:
        return None
    return [name for name, present in zip(names, found[1:], strict=True) if not present]


async def _drive_on_agent(ctx: RootContext, sess: Any, addr: str, krows: list[Any], info: ClusterInfo) -> None:
    from .session_lifecycle import fail_session

    cfg = _sched_cfg(ctx)
    ids = [k.id for k in krows]
    agent_id = krows[0].agent
    images = list({(k.image, k.architecture): {"canonical": k.image, "architecture": k.architecture}
                   for k in krows}.values())
    missing = await _missing_images(ctx, agent_id, [i["canonical"] for i in images])
    try:
        if missing is None or missing:
            # images known to be absent are pulled now: PULLING
            if missing and not await _step(ctx, sess.id, ids, [S.PULLING], f"pulling {', '.join(missing)}"[:256]):
                return
            await ctx.agents.call(addr, "check_and_pull", images,
                                  timeout=float((cfg.get("deadlines") or {}).get("PULLING", 900.0)))
    except RPCError as e:
        if e.type in TRANSIENT_REMOTE_ERRORS:
            return
        await fail_session(ctx, sess.id, reason=f"image-pull-failed on {agent_id}: {e}"[:256],
                           failed_kernels=set(ids), data={"agent": agent_id, "error": str(e)})
        return
    except Exception as e:
        log.info("check_and_pull on %s for session %s: %r (re-driven later)", agent_id, sess.id, e)
        return
    if not await _step(ctx, sess.id, ids, [S.PREPARED, S.CREATING], "images-ready"):
        return
    configs = [kernel_config(sess, k) for k in krows]
    try:
        results = await ctx.agents.call(addr, "create_kernels", str(sess.id), configs, info,
                                        timeout=float(cfg.get("rpc-timeout", 30.0)))
    except RPCError as e:
        if e.type in TRANSIENT_REMOTE_ERRORS:
            return
        await fail_session(ctx, sess.id, reason=f"kernel-creation-failed on {agent_id}: {e}"[:256],
                           failed_kernels=set(ids), data={"agent": agent_id, "error": str(e)})
        return
    except Exception as e:
        log.info("create_kernels on %s for session %s: %r (re-driven later)", agent_id, sess.id, e)
        return
    for result in results or []:
        try:
            kid = uuid.UUID(str(result["kernel_id"]))
        except (KeyError, ValueError):
            continue
        await mark_running(ctx, kid, result)
