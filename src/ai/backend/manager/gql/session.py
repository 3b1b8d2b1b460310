"""ComputeSession and ComputeContainer: read-only views of the sessions and kernels tables."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..models import kernels, sessions
from ..services import sessions as session_service
from .base import (
    ctx_of,
    domain_scope,
    enum_value,
    paginate,
    paginated_list_args,
    plain_json,
    slots_out,
)
from .group import as_uuid

_SESSION_FIELDS: dict[str, Any] = {
    "id": sessions.c.id, "name": sessions.c.name, "type": sessions.c.session_type,
    "session_type": sessions.c.session_type, "domain_name": sessions.c.domain_name,
    "group_id": sessions.c.group_id, "user_id": sessions.c.user_uuid, "access_key": sessions.c.access_key,
    "tag": sessions.c.tag, "status": sessions.c.status, "status_info": sessions.c.status_info,
    "status_changed": sessions.c.status_changed, "result": sessions.c.result,
    "created_at": sessions.c.created_at, "terminated_at": sessions.c.terminated_at,
    "starts_at": sessions.c.starts_at, "scaling_group": sessions.c.scaling_group_name,
    "cluster_mode": sessions.c.cluster_mode, "cluster_size": sessions.c.cluster_size,
}
_KERNEL_FIELDS: dict[str, Any] = {
    "id": kernels.c.id, "role": kernels.c.cluster_role, "cluster_role": kernels.c.cluster_role,
    "cluster_idx": kernels.c.cluster_idx, "status": kernels.c.status, "agent": kernels.c.agent,
    "created_at": kernels.c.created_at, "status_changed": kernels.c.status_changed,
}


def _registry_of(image: str | None) -> str | None:
    if not image or "/" not in image:
        return None
    first = image.split("/", 1)[0]
    return first if ("." in first or ":" in first or first == "localhost") else None


class ComputeContainer(graphene.ObjectType):
    id = graphene.UUID()
    idx = graphene.Int()
    role = graphene.String()
    hostname = graphene.String()
    cluster_role = graphene.String()
    cluster_idx = graphene.Int()
    local_rank = graphene.Int()
    cluster_hostname = graphene.String()
    session_id = graphene.UUID()
    image = graphene.String()
    architecture = graphene.String()
    registry = graphene.String()
    status = graphene.String()
    status_changed = graphene.DateTime()
    status_info = graphene.String()
    status_data = graphene.JSONString()
    created_at = graphene.DateTime()
    terminated_at = graphene.DateTime()
    starts_at = graphene.DateTime()
    agent = graphene.String()
    agent_addr = graphene.String()
    container_id = graphene.String()
    resource_opts = graphene.JSONString()
    occupied_slots = graphene.JSONString()
    live_stat = graphene.JSONString()
    last_stat = graphene.JSONString()
    preopen_ports = graphene.List(lambda: graphene.Int)

    @classmethod
    def from_row(cls, row: Any, *, show_agent: bool) -> ComputeContainer:
        return cls(
            id=row.id, idx=row.cluster_idx, role=row.cluster_role, hostname=row.cluster_hostname,
            cluster_role=row.cluster_role, cluster_idx=row.cluster_idx, local_rank=row.local_rank,
            cluster_hostname=row.cluster_hostname, session_id=row.session_id, image=row.image,
            architecture=row.architecture, registry=row.registry or _registry_of(row.image),
            status=enum_value(row.status), status_changed=row.status_changed, status_info=row.status_info,
            status_data=plain_json(row.status_data), created_at=row.created_at, terminated_at=row.terminated_at,
            starts_at=row.starts_at, agent=row.agent if show_agent else None,
            agent_addr=row.agent_addr if show_agent else None, container_id=row.container_id,
            resource_opts=plain_json(row.resource_opts), occupied_slots=slots_out(row.occupied_slots),
            live_stat=None, last_stat=plain_json(row.last_stat), preopen_ports=row.preopen_ports or [],
        )


class SessionDependency(graphene.ObjectType):
    id = graphene.UUID()
    name = graphene.String()
    status = graphene.String()


class ComputeSession(graphene.ObjectType):
    id = graphene.UUID()
    session_id = graphene.UUID()
    main_kernel_id = graphene.UUID()
    tag = graphene.String()
    name = graphene.String()
    type = graphene.String()
    image = graphene.String()
    architecture = graphene.String()
    registry = graphene.String()
    cluster_template = graphene.String()
    cluster_mode = graphene.String()
    cluster_size = graphene.Int()
    domain_name = graphene.String()
    group_name = graphene.String()
    group_id = graphene.UUID()
    agent_ids = graphene.List(lambda: graphene.String)
    user_email = graphene.String()
    user_id = graphene.UUID()
    access_key = graphene.String()
    created_user_email = graphene.String()
    created_user_id = graphene.UUID()
    status = graphene.String()
    status_changed = graphene.DateTime()
    status_info = graphene.String()
    status_data = graphene.JSONString()
    status_history = graphene.JSONString()
    created_at = graphene.DateTime()
    terminated_at = graphene.DateTime()
    starts_at = graphene.DateTime()
    scheduled_at = graphene.DateTime()
    startup_command = graphene.String()
    result = graphene.String()
    resource_opts = graphene.JSONString()
    scaling_group = graphene.String()
    service_ports = graphene.JSONString()
    mounts = graphene.List(lambda: graphene.String)
    occupying_slots = graphene.JSONString()
    occupied_slots = graphene.JSONString()
    requested_slots = graphene.JSONString()
    num_queries = graphene.BigInt()
    idle_checks = graphene.JSONString()
    abusing_reports = graphene.List(lambda: graphene.JSONString)
    containers = graphene.List(ComputeContainer)
    dependencies = graphene.List(SessionDependency)

    @classmethod
    def from_row(cls, row: Any, kernel_rows: list[Any], deps: list[Any], *, show_agent: bool) -> ComputeSession:
        main = next((k for k in kernel_rows if k.cluster_role == "main"), kernel_rows[0] if kernel_rows else None)
        scheduled_at = next((h.get("timestamp") for h in (row.status_history or [])
                             if isinstance(h, dict) and h.get("status") == "SCHEDULED"), None)
        image = (row.images or [None])[0]
        mounts = sorted({m.get("name", "") for m in (row.vfolder_mounts or []) if isinstance(m, dict)} - {""})
        obj = cls(
            id=row.id, session_id=row.id, main_kernel_id=main.id if main else None, tag=row.tag, name=row.name,
            type=enum_value(row.session_type), image=image, architecture=main.architecture if main else None,
            registry=_registry_of(image), cluster_template=None, cluster_mode=enum_value(row.cluster_mode),
            cluster_size=row.cluster_size, domain_name=row.domain_name, group_name=row.group_name,
            group_id=row.group_id, agent_ids=list(row.agent_ids or []) if show_agent else None,
            user_email=row.user_email, user_id=row.user_uuid, access_key=row.access_key,
            created_user_email=row.user_email, created_user_id=row.user_uuid,
            status=enum_value(row.status), status_changed=row.status_changed, status_info=row.status_info,
            status_data=plain_json(row.status_data), status_history=plain_json(row.status_history),
            created_at=row.created_at, terminated_at=row.terminated_at, starts_at=row.starts_at,
            scheduled_at=scheduled_at, startup_command=row.startup_command, result=enum_value(row.result),
            resource_opts=plain_json({k.cluster_hostname: k.resource_opts for k in kernel_rows}),
            scaling_group=row.scaling_group_name,
            service_ports=plain_json(main.service_ports) if main else None, mounts=mounts,
            occupying_slots=slots_out(row.occupying_slots), occupied_slots=slots_out(row.occupying_slots),
            requested_slots=slots_out(row.requested_slots), num_queries=row.num_queries,
            idle_checks={}, abusing_reports=[],
            containers=[ComputeContainer.from_row(k, show_agent=show_agent) for k in kernel_rows],
            dependencies=[SessionDependency(id=d.id, name=d.name, status=enum_value(d.status)) for d in deps],
        )
        return obj


async def sessions_from_rows(conn: Any, rows: list[Any], *, show_agent: bool) -> list[ComputeSession]:
    ids = [r.id for r in rows]
    kmap = await session_service.kernels_of(conn, ids)
    dmap = await session_service.dependencies_of(conn, ids)
    return [ComputeSession.from_row(r, kmap[r.id], dmap[r.id], show_agent=show_agent) for r in rows]


class ComputeSessionList(graphene.ObjectType):
    items = graphene.List(ComputeSession, required=True)
    total_count = graphene.Int(required=True)


class ComputeContainerList(graphene.ObjectType):
    items = graphene.List(ComputeContainer, required=True)
    total_count = graphene.Int(required=True)


class SessionQueries:
    compute_session = graphene.Field(ComputeSession, id=graphene.UUID(required=True))
    compute_session_list = graphene.Field(ComputeSessionList, **paginated_list_args(
        domain_name=graphene.String(), group_id=graphene.String(), access_key=graphene.String(),
        status=graphene.String(), order_key=graphene.String(), order_asc=graphene.Boolean()))
    compute_container = graphene.Field(ComputeContainer, id=graphene.UUID(required=True))
    compute_container_list = graphene.Field(ComputeContainerList, **paginated_list_args(
        session_id=graphene.ID(required=True), role=graphene.String()))

    async def resolve_compute_session(self, info: GraphQLResolveInfo, id: Any) -> ComputeSession | None:
        ctx = ctx_of(info)
        query = session_service.select_sessions(ctx.requester, session_id=as_uuid(id))
        async with ctx.db.connect() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            return (await sessions_from_rows(conn, [row], show_agent=ctx.requester.is_superadmin))[0]

    async def resolve_compute_session_list(
        self, info: GraphQLResolveInfo, limit: int, offset: int, filter: str | None = None,
        order: str | None = None, domain_name: str | None = None, group_id: str | None = None,
        access_key: str | None = None, status: str | None = None, order_key: str | None = None,
        order_asc: bool | None = None,
    ) -> ComputeSessionList:
        ctx = ctx_of(info)
        r = ctx.requester
        if order is None and order_key:
            order = ("" if order_asc is not False else "-") + order_key
        query = session_service.select_sessions(
            r, statuses=session_service.parse_statuses(status), access_key=access_key,
            domain_name=domain_scope(r, domain_name) if domain_name else None,
            group_id=as_uuid(group_id, "group_id") if group_id else None)
        async with ctx.db.connect() as conn:
            page = await paginate(conn, query, limit=limit, offset=offset, filter_expr=filter, order_expr=order,
                                  fields=_SESSION_FIELDS, default_order=[sessions.c.created_at.desc()])
            items = await sessions_from_rows(conn, list(page.rows), show_agent=r.is_superadmin)
        return ComputeSessionList(items=items, total_count=page.total_count)

    async def resolve_compute_container(self, info: GraphQLResolveInfo, id: Any) -> ComputeContainer | None:
        ctx = ctx_of(info)
        async with ctx.db.connect() as conn:
            row = (await conn.execute(session_service.select_kernels(ctx.requester, kernel_id=as_uuid(id)))).first()
        return ComputeContainer.from_row(row, show_agent=ctx.requester.is_superadmin) if row else None

    async def resolve_compute_container_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                             session_id: Any, role: str | None = None, filter: str | None = None,
                                             order: str | None = None) -> ComputeContainerList:
        ctx = ctx_of(info)
        query = session_service.select_kernels(ctx.requester, session_id=as_uuid(session_id, "session_id"), role=role)
        async with ctx.db.connect() as conn:
            page = await paginate(conn, query.order_by(None), limit=limit, offset=offset, filter_expr=filter,
                                  order_expr=order, fields=_KERNEL_FIELDS,
                                  default_order=[kernels.c.cluster_role, kernels.c.cluster_idx])
        items = [ComputeContainer.from_row(k, show_agent=ctx.requester.is_superadmin) for k in page.rows]
        return ComputeContainerList(items=items, total_count=page.total_count)
