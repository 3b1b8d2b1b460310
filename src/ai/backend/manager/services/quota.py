"""Resource usage and limits, derived from the kernels table.

Usage is never a stored counter: it is the sum of `kernels.occupied_slots` over kernels in a
resource-occupying status, grouped by keypair, project, domain or agent. Limits map a slot
to an amount, or to None for "unlimited".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import RESOURCE_OCCUPYING_STATUSES, AgentStatus
from ai.backend.common.types import ResourceSlot

from ..models import DefaultForUnspecified, agents, kernels

Limits = dict[str, Decimal | None]      # None: unlimited


def policy_limits(total: Mapping[str, Decimal] | None, default: DefaultForUnspecified,
                  known_slots: Iterable[str]) -> Limits:
    """A keypair policy: slots it does not mention are unlimited or zero, per `default`."""
    fallback = None if default == DefaultForUnspecified.UNLIMITED else Decimal(0)
    total = total or {}
    return {slot: Decimal(total[slot]) if slot in total else fallback for slot in known_slots}


def open_limits(total: Mapping[str, Decimal] | None, known_slots: Iterable[str]) -> Limits:
    """Project/domain totals: slots they do not mention are unlimited."""
    total = total or {}
    return {slot: Decimal(total[slot]) if slot in total else None for slot in known_slots}


def remaining(limits: Limits, using: Mapping[str, Decimal]) -> Limits:
    return {slot: None if cap is None else cap - using.get(slot, Decimal(0)) for slot, cap in limits.items()}


def fits(requested: Mapping[str, Decimal], *remainders: Limits) -> bool:
    for rem in remainders:
        for slot, amount in requested.items():
            cap = rem.get(slot)
            if cap is not None and amount > cap:
                return False
    return True


def limits_json(limits: Limits) -> dict[str, str]:
    """The API form: decimal strings, "Infinity" for unlimited."""
    return {k: "Infinity" if v is None else _fmt(v) for k, v in limits.items()}


def slots_json(slots: Mapping[str, Decimal], known_slots: Iterable[str] | None = None) -> dict[str, str]:
    keys = list(known_slots) if known_slots is not None else list(slots)
    return {k: _fmt(Decimal(slots.get(k, Decimal(0)))) for k in keys}


def _fmt(v: Decimal) -> str:
    return ResourceSlot({"x": v}).to_json()["x"]


_occupying = kernels.c.status.in_(list(RESOURCE_OCCUPYING_STATUSES))


async def _sum_by(conn: AsyncConnection, key: sa.ColumnElement[Any], where: sa.ColumnElement[bool]) -> dict[Any, ResourceSlot]:
    rows = (await conn.execute(sa.select(key, kernels.c.occupied_slots).where(_occupying & where))).all()
    totals: dict[Any, ResourceSlot] = defaultdict(ResourceSlot)
    for row in rows:
        totals[row[0]] = totals[row[0]] + (row.occupied_slots or ResourceSlot())
    return dict(totals)


async def keypair_usage(conn: AsyncConnection, access_key: str,
                        scaling_group: str | None = None) -> ResourceSlot:
    where = kernels.c.access_key == access_key
    if scaling_group is not None:
        where = where & (kernels.c.scaling_group == scaling_group)
    return (await _sum_by(conn, kernels.c.access_key, where)).get(access_key, ResourceSlot())


async def group_usage(conn: AsyncConnection, group_id: uuid.UUID) -> ResourceSlot:
    return (await _sum_by(conn, kernels.c.group_id, kernels.c.group_id == group_id)).get(group_id, ResourceSlot())


async def domain_usage(conn: AsyncConnection, domain_name: str) -> ResourceSlot:
    return (await _sum_by(conn, kernels.c.domain_name, kernels.c.domain_name == domain_name)).get(
        domain_name, ResourceSlot())


async def agent_occupancy(conn: AsyncConnection, agent_ids: Iterable[str] | None = None) -> dict[str, ResourceSlot]:
    """Occupied slots per agent (only agents with live kernels appear)."""
    where: sa.ColumnElement[bool] = kernels.c.agent.is_not(None)
    if agent_ids is not None:
        where = where & kernels.c.agent.in_(list(agent_ids))
    return await _sum_by(conn, kernels.c.agent, where)


async def sgroup_agent_capacity(conn: AsyncConnection, scaling_group: str) -> dict[str, tuple[ResourceSlot, ResourceSlot]]:
    """{agent id: (available, occupied)} for the schedulable live agents of a resource group."""
    rows = (await conn.execute(
        sa.select(agents.c.id, agents.c.available_slots).where(
            (agents.c.scaling_group == scaling_group) & (agents.c.status == AgentStatus.ALIVE)
            & agents.c.schedulable
        )
    )).all()
    occupied = await agent_occupancy(conn, [r.id for r in rows])
    return {r.id: (r.available_slots or ResourceSlot(), occupied.get(r.id, ResourceSlot())) for r in rows}
