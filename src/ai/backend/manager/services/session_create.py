"""Enqueue a new compute session: check the request, write the PENDING rows, wake the scheduler.

Everything the request names is resolved and checked first (owner, domain, project, image,
resources, resource group, dependencies, vfolder mounts), then the session row, one kernel row
per container (main1, sub1, ...) and the dependency rows are inserted in one transaction, so a
refused request writes nothing. The scheduler picks PENDING rows up after SessionEnqueuedEvent
and DoScheduleEvent.

Names are unique among an owner's non-terminated sessions. A per-(owner, name) advisory lock
held by the inserting transaction makes two concurrent creations with one name impossible:
the second sees the first's row and either reuses it (reuseIfExists with the same image) or
gets 409.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.agent_types import Mount
from ai.backend.common.events.session import DoScheduleEvent, SessionEnqueuedEvent
from ai.backend.common.status import AgentStatus, SessionStatus, SessionTypes
from ai.backend.common.types import ResourceSlot

from ..context import RootContext
from ..errors import (
    Forbidden,
    InvalidAPIParameters,
    ObjectNotFound,
    SessionAlreadyExists,
    SessionNotFound,
    TooManyPendingSessions,
)
from ..models import (
    agents,
    domains,
    kernels,
    keypair_resource_policies,
    session_dependencies,
    sessions,
)
from ..types import Owner, Requester
from . import groups as group_service
from . import images as image_service
from . import scaling_groups as sgroup_service
from .session_lookup import find_session, live_session_by_name
from .session_params import CreationRequest
from .session_resources import requested_slots, resource_opts
from .vfolder_mounts import resolve_session_mounts

log = logging.getLogger(__name__)


@dataclass
class CreationResult:
    session_id: uuid.UUID
    name: str
    status: str
    created: bool
    service_ports: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        # sessId / kernelId: what API v4 clients read (the name they then put in /kernel/{id} paths)
        return {"sessionId": str(self.session_id), "sessionName": self.name, "sessId": self.name,
                "kernelId": self.name, "status": self.status, "servicePorts": self.service_ports,
                "created": self.created}


def kernel_layout(size: int) -> list[tuple[str, int, str]]:
    """(cluster_role, cluster_idx, hostname) of each container: main1, then sub1 .. sub{n-1}."""
    return [("main", 1, "main1")] + [("sub", i, f"sub{i}") for i in range(1, size)]


def client_service_ports(kernel_service_ports: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The main kernel's service ports as the create response lists them."""
    return [{"name": p.get("name"), "protocol": p.get("protocol"),
             "ports": list(p.get("container_ports") or p.get("ports") or [])}
            for p in (kernel_service_ports or []) if isinstance(p, dict)]


async def _lock_name(conn: AsyncConnection, access_key: str, name: str) -> None:
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(f"session-name:{access_key}:{name}", 0))))


async def _check_domain(conn: AsyncConnection, owner: Owner, domain: str | None) -> str:
    if domain is not None and domain != owner.domain_name:
        raise InvalidAPIParameters(f"domain: the session owner belongs to domain {owner.domain_name!r}, "
                                   f"not {domain!r}", data={"field": "domain"})
    row = (await conn.execute(sa.select(domains.c.is_active).where(domains.c.name == owner.domain_name))).first()
    if row is None or not row.is_active:
        raise Forbidden(f"domain {owner.domain_name!r} is inactive")
    return owner.domain_name


async def _group(conn: AsyncConnection, requester: Requester, owner: Owner, name: str) -> Any:
    try:
        grp = await group_service.resolve_for_owner(
            conn, owner, name, admin_override=requester.can_manage_domain(owner.domain_name)
            and owner.access_key == requester.access_key)
    except ObjectNotFound as e:
        raise InvalidAPIParameters(f"group: {e}", data={"field": "group"}) from None
    if not grp.is_active:
        raise Forbidden(f"group: project {grp.name!r} is inactive")
    return grp


async def _image(conn: AsyncConnection, reference: str, architecture: str | None) -> Any:
    try:
        return await image_service.resolve(conn, reference, architecture)
    except (ObjectNotFound, InvalidAPIParameters) as e:
        raise InvalidAPIParameters(f"image: {e}", data={"field": "image"}) from None


async def _scaling_group(conn: AsyncConnection, owner: Owner, group_id: uuid.UUID, requested: str | None,
                         architecture: str) -> tuple[str, list[str]]:
    """The requested resource group (if allowed), else the allowed one most likely to run it."""
    allowed = await sgroup_service.allowed_names(conn, domain_name=owner.domain_name, group_id=group_id,
                                                 access_key=owner.access_key)
    if requested is not None:
        if requested not in allowed:
            raise Forbidden(f"config.scalingGroup: resource group {requested!r} is not allowed for the "
                            f"session owner (allowed: {', '.join(allowed) or 'none'})",
                            data={"field": "config.scalingGroup"})
        return requested, [requested]
    if not allowed:
        raise Forbidden("config.scalingGroup: no resource group is allowed for the session owner's "
                        "domain, project or keypair", data={"field": "config.scalingGroup"})
    # Prefer groups with live agents of the image's architecture, then "default", then by name.
    served: set[str] = set((await conn.execute(
        sa.select(agents.c.scaling_group).distinct().where(
            (agents.c.status == AgentStatus.ALIVE) & (agents.c.architecture == architecture)
            & agents.c.scaling_group.in_(allowed))
    )).scalars())
    best = sorted(allowed, key=lambda name: (name not in served, name != "default", name))[0]
    return best, allowed


async def _check_pending_limit(conn: AsyncConnection, owner: Owner) -> None:
    """The keypair policy's max_pending_session_count (NULL: no limit), race-free per keypair."""
    limit = (await conn.execute(sa.select(keypair_resource_policies.c.max_pending_session_count)
                                .where(keypair_resource_policies.c.name == owner.resource_policy))).scalar()
    if limit is None:
        return
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(f"session-pending:{owner.access_key}", 0))))
    pending = (await conn.execute(sa.select(sa.func.count()).select_from(sessions).where(
        (sessions.c.access_key == owner.access_key) & (sessions.c.status == SessionStatus.PENDING)))).scalar_one()
    if pending >= limit:
        raise TooManyPendingSessions(f"the keypair {owner.access_key} already has {pending} pending sessions "
                                     f"(its resource policy allows {limit})", data={"limit": limit})


async def _dependencies(conn: AsyncConnection, access_key: str, names: list[str]) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for i, name in enumerate(names):
        try:
            row = await find_session(conn, access_key, name, allow_stale=True)
        except SessionNotFound:
            raise InvalidAPIParameters(f"dependencies[{i}]: no session {name!r} of the owner",
                                       data={"field": f"dependencies[{i}]"}) from None
        if row.id not in ids:
            ids.append(row.id)
    return ids


async def enqueue_session(ctx: RootContext, requester: Requester, owner: Owner,
                          req: CreationRequest) -> CreationResult:
    """Write the PENDING session (or find the one to reuse); produces the scheduling events."""
    async with ctx.db.begin() as conn:
        await _lock_name(conn, owner.access_key, req.name)
        existing = await live_session_by_name(conn, owner.access_key, req.name)
        image = await _image(conn, req.image, req.architecture)
        if existing is not None:
            if req.reuse_if_exists and image.name in (existing.images or []):
                main = (await conn.execute(sa.select(kernels.c.service_ports).where(
                    (kernels.c.session_id == existing.id) & (kernels.c.cluster_role == "main")))).first()
                status = existing.status.value
                ports = client_service_ports(main.service_ports if main else None) if status == "RUNNING" else []
                return CreationResult(existing.id, existing.name, status, False, ports)
            why = "with another image" if req.reuse_if_exists else "and reuseIfExists is false"
            raise SessionAlreadyExists(f"name: the session {req.name!r} already exists {why}",
                                       data={"field": "name", "sessionId": str(existing.id)})
        domain_name = await _check_domain(conn, owner, req.domain)
        grp = await _group(conn, requester, owner, req.group)
        known = await ctx.shared_config.get_resource_slots()
        per_kernel = requested_slots(req.resources, known, image.resources)
        opts = resource_opts(req.resource_opts, per_kernel)
        sgroup, targets = await _scaling_group(conn, owner, grp.id, req.scaling_group, image.architecture)
        dep_ids = await _dependencies(conn, owner.access_key, req.dependencies)
        await _check_pending_limit(conn, owner)
        mounts = await resolve_session_mounts(
            conn, ctx, user_uuid=owner.user_uuid, access_key=owner.access_key, domain_name=domain_name,
            group_id=grp.id, requested=req.mounts, mount_map=req.mount_map)
        session_id = uuid.uuid4()
        await _insert(conn, session_id, req, owner=owner, domain_name=domain_name, group_id=grp.id,
                      image=image, per_kernel=per_kernel, opts=opts, sgroup=sgroup, targets=targets,
                      mounts=mounts, dep_ids=dep_ids)
    try:
        await ctx.event_producer.produce_event(SessionEnqueuedEvent(session_id, reason="user-requested"))
        await ctx.event_producer.produce_event(DoScheduleEvent())
    except (RedisError, OSError) as e:
        # The row is committed: the scheduler's periodic pass picks it up; an event only hurries it.
        log.warning("session %s enqueued but its events were not sent (%s)", session_id, e)
    log.info("session %s (%s) of %s enqueued: %s x%d", req.name, session_id, owner.access_key,
             image.name, req.cluster_size)
    return CreationResult(session_id, req.name, SessionStatus.PENDING.value, True)


async def _insert(conn: AsyncConnection, session_id: uuid.UUID, req: CreationRequest, *, owner: Owner,
                  domain_name: str, group_id: uuid.UUID, image: Any, per_kernel: ResourceSlot,
                  opts: dict[str, Any], sgroup: str, targets: list[str], mounts: list[Mount],
                  dep_ids: list[uuid.UUID]) -> None:
    now = datetime.now(UTC)
    history = [{"status": SessionStatus.PENDING.value, "timestamp": now.isoformat()}]
    creation_id = secrets.token_hex(16)
    ownership = {"domain_name": domain_name, "group_id": group_id, "user_uuid": owner.user_uuid,
                 "access_key": owner.access_key}
    mount_list = [dict(m) for m in mounts]
    mount_map = {m["name"]: m["kernel_path"] for m in mounts if m.get("name")}
    common = {
        "session_type": req.session_type, "cluster_mode": req.cluster_mode, "cluster_size": req.cluster_size,
        "tag": req.tag, "vfolder_mounts": mount_list, "bootstrap_script": req.bootstrap_script,
        "startup_command": req.startup_command, "callback_url": req.callback_url,
        "starts_at": req.starts_at, "status": SessionStatus.PENDING, "status_changed": now,
        "status_info": "pending", "status_history": history, "created_at": now,
    }
    await conn.execute(sa.insert(sessions).values(
        id=session_id, creation_id=creation_id, name=req.name, priority=0, images=[image.name],
        scaling_group_name=sgroup, target_sgroup_names=targets,
        requested_slots=per_kernel * req.cluster_size, environ=req.environ,
        timeout=req.batch_timeout if req.session_type == SessionTypes.BATCH else None,
        **ownership, **common,
    ))
    environ = [f"{k}={v}" for k, v in req.environ.items()]
    rows = []
    for rank, (role, idx, hostname) in enumerate(kernel_layout(req.cluster_size)):
        rows.append({
            # the main kernel shares the session's id, as legacy kernel-id APIs expect
            "id": session_id if role == "main" else uuid.uuid4(),
            "session_id": session_id, "session_creation_id": creation_id, "session_name": req.name,
            "cluster_role": role, "cluster_idx": idx, "local_rank": rank, "cluster_hostname": hostname,
            "scaling_group": sgroup, "agent": None, "image": image.name, "architecture": image.architecture,
            "registry": image.registry, "requested_slots": per_kernel, "resource_opts": opts,
            "environ": environ, "mounts": [m["name"] for m in mounts if m.get("name")],
            "mount_map": mount_map, "preopen_ports": req.preopen_ports, **ownership, **common,
        })
    await conn.execute(sa.insert(kernels), rows)
    if dep_ids:
        await conn.execute(sa.insert(session_dependencies),
                           [{"session_id": session_id, "depends_on": d} for d in dep_ids])

