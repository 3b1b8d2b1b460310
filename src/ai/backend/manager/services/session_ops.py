"""Operations on one existing session: its info, rename, restart, status history, dependencies.

The session is always found through session_lookup (scoped to the owner keypair), so these
functions take the owner's access key and the name or id as the client gave it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.rpc import RPCError
from ai.backend.common.status import SessionStatus
from ai.backend.common.types import ResourceSlot

from ..context import RootContext
from ..errors import Conflict, ServiceUnavailable
from ..models import kernels, session_dependencies, sessions
from .session_lookup import find_session, live_session_by_name
from .session_params import NAME_RE, _bad
from .session_transitions import refresh_session, transit_kernels
from .sessions import dependencies_of, kernels_of

log = logging.getLogger(__name__)
RESTART_TIMEOUT = 60.0
RESTARTABLE = frozenset({SessionStatus.RUNNING, SessionStatus.RUNNING_DEGRADED})


def _slots(value: Any) -> dict[str, str]:
    return (value if isinstance(value, ResourceSlot) else ResourceSlot.from_json(value)).to_json()


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


def info_of(row: Any, kernel_rows: list[Any], deps: list[Any]) -> dict[str, Any]:
    """GET /session/{id}: the manual's keys (lang, age, ...) plus the v7 ones."""
    main = next((k for k in kernel_rows if k.cluster_role == "main"), kernel_rows[0] if kernel_rows else None)
    now = datetime.now(UTC)
    image = (row.images or [None])[0]
    return {
        "sessionId": str(row.id), "sessionName": row.name, "domainName": row.domain_name,
        "groupId": str(row.group_id), "groupName": row.group_name, "userId": str(row.user_uuid),
        "ownerAccessKey": row.access_key, "lang": image, "image": image,
        "architecture": main.architecture if main else None, "registry": main.registry if main else None,
        "tag": row.tag, "type": _enum(row.session_type), "clusterMode": _enum(row.cluster_mode),
        "clusterSize": row.cluster_size, "scalingGroup": row.scaling_group_name,
        "containerId": main.container_id if main else None,
        "occupiedSlots": _slots(main.occupied_slots) if main else {},
        "occupyingSlots": _slots(row.occupying_slots), "requestedSlots": _slots(row.requested_slots),
        "environ": row.environ or {}, "resourceOpts": {k.cluster_hostname: k.resource_opts for k in kernel_rows},
        "mounts": [m.get("name") for m in (row.vfolder_mounts or []) if isinstance(m, dict)],
        "status": _enum(row.status), "statusInfo": row.status_info, "statusData": row.status_data,
        "statusHistory": row.status_history or [], "result": _enum(row.result),
        "age": int((now - row.created_at).total_seconds() * 1000) if row.created_at else 0,
        "creationTime": row.created_at.isoformat() if row.created_at else None,
        "terminationTime": row.terminated_at.isoformat() if row.terminated_at else None,
        "startsAt": row.starts_at.isoformat() if row.starts_at else None,
        "startupCommand": row.startup_command, "numQueriesExecuted": row.num_queries,
        "memoryLimit": int(ResourceSlot.from_json(main.requested_slots).get("mem", 0)) // 1024 if main else 0,
        "lastStat": row.last_stat, "idleChecks": {},
        "servicePorts": [{"name": p.get("name"), "protocol": p.get("protocol"),
                          "ports": p.get("container_ports") or []}
                         for p in ((main.service_ports if main else None) or []) if isinstance(p, dict)],
        "kernels": [{"id": str(k.id), "role": k.cluster_role, "idx": k.cluster_idx, "hostname": k.cluster_hostname,
                     "status": _enum(k.status), "statusInfo": k.status_info, "statusData": k.status_data,
                     "image": k.image, "agent": k.agent, "containerId": k.container_id,
                     "requestedSlots": _slots(k.requested_slots), "occupiedSlots": _slots(k.occupied_slots)}
                    for k in kernel_rows],
        "dependencies": [{"id": str(d.id), "name": d.name, "status": _enum(d.status)} for d in deps],
    }


async def get_info(conn: AsyncConnection, access_key: str, name_or_id: str) -> dict[str, Any]:
    row = await find_session(conn, access_key, name_or_id, allow_stale=True)
    kmap = await kernels_of(conn, [row.id])
    dmap = await dependencies_of(conn, [row.id])
    return info_of(row, kmap[row.id], dmap[row.id])


def status_history_map(history: list[Any] | None) -> dict[str, str]:
    """The history list as {STATUS: time it was last entered}, the shape clients print."""
    out: dict[str, str] = {}
    for entry in history or []:
        if isinstance(entry, dict) and entry.get("status"):
            out[str(entry["status"])] = str(entry.get("timestamp"))
    return out


async def rename(conn: AsyncConnection, access_key: str, name_or_id: str, new_name: Any) -> uuid.UUID:
    """Rename a live session; the new name must be free among the owner's live sessions."""
    if not isinstance(new_name, str) or not NAME_RE.match(new_name):
        raise _bad("name", "4 to 64 letters, digits, '-', '_' or '.', starting and ending with a letter "
                           f"or digit; got {new_name!r}")
    row = await find_session(conn, access_key, name_or_id, for_update=True)
    if row.name == new_name:
        return row.id
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(f"session-name:{access_key}:{new_name}", 0))))
    if await live_session_by_name(conn, access_key, new_name) is not None:
        raise Conflict(f"name: the owner already has a live session named {new_name!r}", data={"field": "name"})
    await conn.execute(sa.update(sessions).where(sessions.c.id == row.id).values(name=new_name))
    await conn.execute(sa.update(kernels).where(kernels.c.session_id == row.id).values(session_name=new_name))
    return row.id


async def _move_kernels(ctx: RootContext, session_id: uuid.UUID, moves: dict[uuid.UUID, dict[str, Any]],
                        new: SessionStatus, expect: frozenset[SessionStatus], reason: str) -> list[uuid.UUID]:
    """Move kernels (each with its extra column values) to `new` if still in `expect`, then
    re-derive the session status; the session row is locked first, as everywhere."""
    async with ctx.db.begin() as conn:
        await conn.execute(sa.select(sessions.c.id).where(sessions.c.id == session_id).with_for_update())
        moved: list[uuid.UUID] = []
        for kid, values in moves.items():
            moved += await transit_kernels(conn, [kid], new, from_statuses=expect, reason=reason, values=values)
        await refresh_session(conn, session_id, reason=reason)
    return moved


async def restart(ctx: RootContext, access_key: str, name_or_id: str) -> uuid.UUID:
    """Restart every kernel of a running session in place (restart_kernel RPC on its agent)."""
    async with ctx.db.connect() as conn:
        row = await find_session(conn, access_key, name_or_id)
        krows = (await kernels_of(conn, [row.id]))[row.id]
    if row.status not in RESTARTABLE:
        raise Conflict(f"the session {row.name!r} is {row.status.value}; only running sessions can restart")
    missing = [k.cluster_hostname for k in krows if not k.agent_addr]
    if missing:
        raise Conflict(f"the session {row.name!r} has kernels not placed on an agent: {', '.join(missing)}")
    restarting = frozenset({SessionStatus.RESTARTING})
    moved = await _move_kernels(ctx, row.id, {k.id: {} for k in krows}, SessionStatus.RESTARTING,
                                RESTARTABLE, "user-requested-restart")
    if len(moved) != len(krows):
        await _move_kernels(ctx, row.id, {k: {} for k in moved}, SessionStatus.RUNNING, restarting, "restart-aborted")
        raise Conflict(f"the session {row.name!r} changed its status meanwhile; try again")
    try:
        infos = await asyncio.gather(*(
            ctx.agents.call(k.agent_addr, "restart_kernel", str(k.id), timeout=RESTART_TIMEOUT) for k in krows))
    except (RPCError, TimeoutError, OSError) as e:
        log.warning("restarting session %s failed: %s", row.id, e)
        await _move_kernels(ctx, row.id, {k.id: {} for k in krows}, SessionStatus.RUNNING, restarting,
                            "restart-failed")
        raise ServiceUnavailable(f"restarting the session {row.name!r} failed on its agent: {e}") from None
    updates: dict[uuid.UUID, dict[str, Any]] = {}
    for k, info in zip(krows, infos, strict=True):
        info = info if isinstance(info, dict) else {}
        updates[k.id] = {key: info[key] for key in ("container_id", "kernel_host", "repl_in_port", "repl_out_port",
                                                    "service_ports") if key in info}
    await _move_kernels(ctx, row.id, updates, SessionStatus.RUNNING, restarting, "restarted")
    return uuid.UUID(str(row.id))


async def dependency_graph(conn: AsyncConnection, access_key: str, name_or_id: str) -> dict[str, Any]:
    """The session and, recursively, the sessions it depends on."""
    row = await find_session(conn, access_key, name_or_id, allow_stale=True)

    async def node(sid: uuid.UUID, name: str, status: Any, path: frozenset[uuid.UUID]) -> dict[str, Any]:
        deps = (await conn.execute(
            sa.select(sessions.c.id, sessions.c.name, sessions.c.status)
            .select_from(session_dependencies.join(sessions, session_dependencies.c.depends_on == sessions.c.id))
            .where(session_dependencies.c.session_id == sid).order_by(sessions.c.created_at))).all()
        children = [await node(d.id, d.name, d.status, path | {sid}) for d in deps if d.id not in path | {sid}]
        return {"session_id": str(sid), "session_name": name, "status": _enum(status), "depends_on": children}

    return await node(row.id, row.name, row.status, frozenset())
