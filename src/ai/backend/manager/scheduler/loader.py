"""Building the scheduling views of one resource group from the database (inside the pass's
transaction): pending sessions, agents with derived occupancy, usage and policy limits."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import RESOURCE_OCCUPYING_STATUSES, AgentStatus, SessionStatus
from ai.backend.common.types import ResourceSlot

from ..models import (
    DefaultForUnspecified,
    agents,
    domains,
    groups,
    images,
    kernels,
    keypair_resource_policies,
    keypairs,
    session_dependencies,
    sessions,
    user_resource_policies,
    users,
)
from ..services import quota
from ..services.scaling_groups import allowed_names
from .predicates import DependencyState, SessionLimits
from .types import AgentView, PendingKernel, PendingSession, SchedulingState


async def load_pending(conn: AsyncConnection, sgroup: str, at: datetime,
                       previous: dict[uuid.UUID, Any] | None = None) -> tuple[list[PendingSession], list[Any]]:
    """PENDING sessions of the group, locked (skipping rows another transaction holds).

    Returns (ready, waiting): `waiting` are rows whose starts_at is still in the future.
    `previous` receives each session's current status_data (to skip rewriting unchanged reasons).
    """
    rows = (await conn.execute(
        sa.select(sessions).where((sessions.c.status == SessionStatus.PENDING)
                                  & (sessions.c.scaling_group_name == sgroup))
        .order_by(sessions.c.created_at).with_for_update(skip_locked=True)
    )).all()
    if previous is not None:
        previous.update({r.id: r.status_data for r in rows})
    waiting = [r for r in rows if r.starts_at is not None and r.starts_at > at]
    ready = [r for r in rows if r.starts_at is None or r.starts_at <= at]
    if not ready:
        return [], waiting
    ids = [r.id for r in ready]
    krows = (await conn.execute(
        sa.select(kernels.c.id, kernels.c.session_id, kernels.c.cluster_role, kernels.c.cluster_idx,
                  kernels.c.requested_slots, kernels.c.image, kernels.c.architecture)
        .where(kernels.c.session_id.in_(ids)))).all()
    by_session: dict[uuid.UUID, list[PendingKernel]] = defaultdict(list)
    for k in krows:
        by_session[k.session_id].append(PendingKernel(
            k.id, k.cluster_role, k.cluster_idx, k.requested_slots or ResourceSlot(), k.image or "", k.architecture))
    deps: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for d in (await conn.execute(sa.select(session_dependencies).where(
            session_dependencies.c.session_id.in_(ids)))).all():
        deps[d.session_id].append(d.depends_on)
    min_slots = await _image_min_slots(conn, {(k.image, k.architecture) for k in krows if k.cluster_role == "main"})
    out = []
    for r in ready:
        ks = sorted(by_session.get(r.id, []), key=lambda k: (k.cluster_role != "main", k.cluster_idx))
        if not ks:
            continue
        sched = ((r.status_data or {}).get("scheduler") or {}) if isinstance(r.status_data, dict) else {}
        sess = PendingSession(
            session_id=r.id, name=r.name, access_key=r.access_key or "", user_id=r.user_uuid,
            group_id=r.group_id, domain_name=r.domain_name, scaling_group=sgroup, created_at=r.created_at,
            kernels=ks, cluster_mode=str(r.cluster_mode.value if hasattr(r.cluster_mode, "value") else r.cluster_mode),
            image_min_slots=min_slots.get((ks[0].image, ks[0].architecture), ResourceSlot()),
            dependencies=deps.get(r.id, []), retries=int(sched.get("retries", 0) or 0),
        )
        out.append(sess)
    return out, waiting


async def _image_min_slots(conn: AsyncConnection, refs: set[tuple[str, str]]) -> dict[tuple[str, str], ResourceSlot]:
    if not refs:
        return {}
    rows = (await conn.execute(sa.select(images.c.name, images.c.architecture, images.c.resources).where(
        images.c.name.in_([r[0] for r in refs])))).all()
    out: dict[tuple[str, str], ResourceSlot] = {}
    for row in rows:
        mins: dict[str, Decimal] = {}
        for slot, spec in (row.resources or {}).items():
            value = spec.get("min") if isinstance(spec, dict) else None
            if value is not None:
                try:
                    mins[slot] = Decimal(str(value))
                except ArithmeticError:
                    continue
        out[(row.name, row.architecture)] = ResourceSlot(mins)
    return out


async def load_agents(conn: AsyncConnection, sgroup: str) -> list[AgentView]:
    rows = (await conn.execute(
        sa.select(agents.c.id, agents.c.architecture, agents.c.available_slots, agents.c.addr)
        .where((agents.c.scaling_group == sgroup) & (agents.c.status == AgentStatus.ALIVE) & agents.c.schedulable)
        .order_by(agents.c.id))).all()
    occupied = await quota.agent_occupancy(conn, [r.id for r in rows])
    return [AgentView(r.id, r.architecture, r.available_slots or ResourceSlot(),
                      occupied.get(r.id, ResourceSlot()), sgroup, r.addr) for r in rows]


async def load_state(conn: AsyncConnection, agent_views: list[AgentView]) -> SchedulingState:
    """Usage per keypair/user/project/domain: sums over live kernels (never counters)."""
    state = SchedulingState()
    rows = (await conn.execute(
        sa.select(kernels.c.access_key, kernels.c.user_uuid, kernels.c.group_id, kernels.c.domain_name,
                  kernels.c.occupied_slots)
        .where(kernels.c.status.in_(list(RESOURCE_OCCUPYING_STATUSES))))).all()
    for r in rows:
        slots = r.occupied_slots or ResourceSlot()
        state.keypair_occupied[r.access_key] = state.keypair_occupied.get(r.access_key, ResourceSlot()) + slots
        state.user_occupied[r.user_uuid] = state.user_occupied.get(r.user_uuid, ResourceSlot()) + slots
        state.group_occupied[r.group_id] = state.group_occupied.get(r.group_id, ResourceSlot()) + slots
        state.domain_occupied[r.domain_name] = state.domain_occupied.get(r.domain_name, ResourceSlot()) + slots
    concurrency: Any = (await conn.execute(
            sa.select(sessions.c.access_key, sa.func.count()).where(
                sessions.c.status.in_(list(RESOURCE_OCCUPYING_STATUSES))).group_by(sessions.c.access_key))).all()
    for ak, n in concurrency:
        state.keypair_concurrency[str(ak)] = int(n)
    total = ResourceSlot()
    for a in agent_views:
        total = total + a.available_slots
    state.total_capacity = total
    return state


def _limit_map(total: ResourceSlot | None, default: Any, known: set[str]) -> dict[str, Decimal] | None:
    limits = quota.policy_limits(total, default, known)
    out = {k: v for k, v in limits.items() if v is not None}
    return out or None


async def load_limits(conn: AsyncConnection, pending: list[PendingSession]) -> dict[uuid.UUID, SessionLimits]:
    if not pending:
        return {}
    known = {slot for p in pending for slot in p.requested_slots}
    aks = {p.access_key for p in pending}
    kp = {r.access_key: r for r in (await conn.execute(
        sa.select(keypairs.c.access_key, keypair_resource_policies)
        .select_from(keypairs.join(keypair_resource_policies,
                                   keypair_resource_policies.c.name == keypairs.c.resource_policy))
        .where(keypairs.c.access_key.in_(list(aks))))).all()}
    up = {r.uuid: r.total_resource_slots for r in (await conn.execute(
        sa.select(users.c.uuid, user_resource_policies.c.total_resource_slots)
        .select_from(users.join(user_resource_policies, user_resource_policies.c.name == users.c.resource_policy))
        .where(users.c.uuid.in_(list({p.user_id for p in pending}))))).all()}
    gp = {r.id: r.total_resource_slots for r in (await conn.execute(
        sa.select(groups.c.id, groups.c.total_resource_slots).where(
            groups.c.id.in_(list({p.group_id for p in pending}))))).all()}
    dp = {r.name: r.total_resource_slots for r in (await conn.execute(
        sa.select(domains.c.name, domains.c.total_resource_slots).where(
            domains.c.name.in_(list({p.domain_name for p in pending}))))).all()}
    dep_ids = {d for p in pending for d in p.dependencies}
    dep_states: dict[uuid.UUID, DependencyState] = {}
    if dep_ids:
        for r in (await conn.execute(sa.select(sessions.c.id, sessions.c.status, sessions.c.result).where(
                sessions.c.id.in_(list(dep_ids))))).all():
            dep_states[r.id] = DependencyState(str(r.status.value), str(r.result.value))
    allowed: dict[tuple[str, uuid.UUID, str], set[str]] = {}
    out: dict[uuid.UUID, SessionLimits] = {}
    for p in pending:
        key = (p.domain_name, p.group_id, p.access_key)
        if key not in allowed:
            allowed[key] = set(await allowed_names(conn, domain_name=p.domain_name, group_id=p.group_id,
                                                   access_key=p.access_key))
        pol = kp.get(p.access_key)
        out[p.session_id] = SessionLimits(
            keypair_slots=_limit_map(pol.total_resource_slots, pol.default_for_unspecified, known) if pol else None,
            user_slots=_limit_map(up.get(p.user_id), DefaultForUnspecified.UNLIMITED, known),
            group_slots=_limit_map(gp.get(p.group_id), DefaultForUnspecified.UNLIMITED, known),
            domain_slots=_limit_map(dp.get(p.domain_name), DefaultForUnspecified.UNLIMITED, known),
            max_concurrent_sessions=(pol.max_concurrent_sessions or None) if pol else None,
            max_containers_per_session=(pol.max_containers_per_session or None) if pol else None,
            allowed_scaling_groups=allowed[key],
            dependencies={d: dep_states[d] for d in p.dependencies if d in dep_states},
        )
    return out
