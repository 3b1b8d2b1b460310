"""Agent type and queries (superadmin only): occupancy derived from live kernels, live
statistics from Redis."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ai.backend.common.types import ResourceSlot

from ..models import agents
from ..services import agents as agent_service
from ..services import quota
from ..services import sessions as session_service
from .base import (
    ctx_of,
    enum_value,
    paginate,
    paginated_list_args,
    plain_json,
    require_superadmin,
    slots_out,
)
from .session import ComputeContainer

_FIELDS: dict[str, Any] = {
    "id": agents.c.id, "status": agents.c.status, "status_changed": agents.c.status_changed,
    "region": agents.c.region, "scaling_group": agents.c.scaling_group, "schedulable": agents.c.schedulable,
    "addr": agents.c.addr, "first_contact": agents.c.first_contact, "lost_at": agents.c.lost_at,
    "version": agents.c.version, "architecture": agents.c.architecture,
}


class Agent(graphene.ObjectType):
    id = graphene.ID()
    status = graphene.String()
    status_changed = graphene.DateTime()
    region = graphene.String()
    architecture = graphene.String()
    scaling_group = graphene.String()
    schedulable = graphene.Boolean()
    available_slots = graphene.JSONString()
    occupied_slots = graphene.JSONString()
    addr = graphene.String()
    first_contact = graphene.DateTime()
    lost_at = graphene.DateTime()
    live_stat = graphene.JSONString()
    version = graphene.String()
    compute_plugins = graphene.JSONString()
    hardware_metadata = graphene.JSONString()
    local_config = graphene.JSONString()
    auto_terminate_abusing_kernel = graphene.Boolean()
    cpu_cur_pct = graphene.Float()
    mem_cur_bytes = graphene.Float()
    # legacy slot fields
    mem_slots = graphene.Int()
    cpu_slots = graphene.Float()
    gpu_slots = graphene.Float()
    tpu_slots = graphene.Float()
    used_mem_slots = graphene.Int()
    used_cpu_slots = graphene.Float()
    used_gpu_slots = graphene.Float()
    used_tpu_slots = graphene.Float()
    compute_containers = graphene.List(ComputeContainer, status=graphene.String())

    @classmethod
    def from_row(cls, row: Any, occupied: ResourceSlot, stat: dict[str, Any] | None) -> Agent:
        avail = row.available_slots or ResourceSlot()

        def f(slots: ResourceSlot, key: str) -> float:
            return float(slots.get(key, 0))

        return cls(
            id=row.id, status=enum_value(row.status), status_changed=row.status_changed, region=row.region,
            architecture=row.architecture, scaling_group=row.scaling_group, schedulable=row.schedulable,
            available_slots=slots_out(avail), occupied_slots=slots_out(occupied), addr=row.addr,
            first_contact=row.first_contact, lost_at=row.lost_at, live_stat=plain_json(stat),
            version=row.version, compute_plugins=plain_json(row.compute_plugins),
            hardware_metadata={}, local_config={"agent": {"id": row.id, "region": row.region},
                                                "resource_slot_types": plain_json(row.resource_slot_types)},
            auto_terminate_abusing_kernel=row.auto_terminate_abusing_kernel,
            cpu_cur_pct=agent_service.cpu_pct(stat) or 0.0, mem_cur_bytes=agent_service.mem_bytes(stat) or 0.0,
            mem_slots=int(f(avail, "mem")) // (1 << 20), cpu_slots=f(avail, "cpu"),
            gpu_slots=f(avail, "cuda.device"), tpu_slots=f(avail, "tpu.device"),
            used_mem_slots=int(f(occupied, "mem")) // (1 << 20), used_cpu_slots=f(occupied, "cpu"),
            used_gpu_slots=f(occupied, "cuda.device"), used_tpu_slots=f(occupied, "tpu.device"),
        )

    async def resolve_compute_containers(self, info: GraphQLResolveInfo, status: str | None = None) -> list[ComputeContainer]:
        ctx = ctx_of(info)
        query = session_service.select_kernels(ctx.requester, agent_id=str(self.id),
                                               statuses=session_service.parse_statuses(status))
        async with ctx.db.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [ComputeContainer.from_row(r, show_agent=True) for r in rows]


async def agents_from_rows(info: GraphQLResolveInfo, conn: Any, rows: list[Any]) -> list[Agent]:
    ids = [r.id for r in rows]
    occupied = await quota.agent_occupancy(conn, ids)
    stats = await agent_service.live_stats(ctx_of(info).root.redis.stat, ids)
    return [Agent.from_row(r, occupied.get(r.id, ResourceSlot()), stats.get(r.id)) for r in rows]


class AgentList(graphene.ObjectType):
    items = graphene.List(Agent, required=True)
    total_count = graphene.Int(required=True)


class AgentQueries:
    agent = graphene.Field(Agent, agent_id=graphene.String(required=True))
    agents = graphene.List(Agent, scaling_group=graphene.String(), status=graphene.String())
    agent_list = graphene.Field(AgentList, **paginated_list_args(
        scaling_group=graphene.String(), status=graphene.String(), order_key=graphene.String(),
        order_asc=graphene.Boolean()))

    async def resolve_agent(self, info: GraphQLResolveInfo, agent_id: str) -> Agent | None:
        require_superadmin(info)
        async with ctx_of(info).db.connect() as conn:
            row = (await conn.execute(agent_service.select_agents(agent_id=agent_id))).first()
            return (await agents_from_rows(info, conn, [row]))[0] if row else None

    async def resolve_agents(self, info: GraphQLResolveInfo, scaling_group: str | None = None,
                             status: str | None = None) -> list[Agent]:
        require_superadmin(info)
        query = agent_service.select_agents(statuses=agent_service.parse_statuses(status), scaling_group=scaling_group)
        async with ctx_of(info).db.connect() as conn:
            rows = (await conn.execute(query.order_by(agents.c.id))).all()
            return await agents_from_rows(info, conn, list(rows))

    async def resolve_agent_list(self, info: GraphQLResolveInfo, limit: int, offset: int, filter: str | None = None,
                                 order: str | None = None, scaling_group: str | None = None,
                                 status: str | None = None, order_key: str | None = None,
                                 order_asc: bool | None = None) -> AgentList:
        require_superadmin(info)
        if order is None and order_key:
            order = ("" if order_asc is not False else "-") + order_key
        query = agent_service.select_agents(statuses=agent_service.parse_statuses(status), scaling_group=scaling_group)
        async with ctx_of(info).db.connect() as conn:
            page = await paginate(conn, query, limit=limit, offset=offset, filter_expr=filter, order_expr=order,
                                  fields=_FIELDS, default_order=[agents.c.id])
            items = await agents_from_rows(info, conn, list(page.rows))
        return AgentList(items=items, total_count=page.total_count)
