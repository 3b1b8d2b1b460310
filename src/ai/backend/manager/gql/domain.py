"""Domain type, queries and mutations (mutations: superadmin only)."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..services import domains as domain_service
from ..services import scaling_groups as sgroup_service
from .base import (
    ctx_of,
    domain_scope,
    mutate,
    parse_json_input,
    parse_slots_input,
    plain_json,
    require_superadmin,
    slots_out,
)


class Domain(graphene.ObjectType):
    name = graphene.String()
    description = graphene.String()
    is_active = graphene.Boolean()
    created_at = graphene.DateTime()
    modified_at = graphene.DateTime()
    total_resource_slots = graphene.JSONString()
    allowed_vfolder_hosts = graphene.JSONString()
    allowed_docker_registries = graphene.List(lambda: graphene.String)
    integration_id = graphene.String()
    scaling_groups = graphene.List(lambda: graphene.String)

    @classmethod
    def from_row(cls, row: Any) -> Domain:
        return cls(
            name=row.name, description=row.description, is_active=row.is_active,
            created_at=row.created_at, modified_at=row.modified_at,
            total_resource_slots=slots_out(row.total_resource_slots),
            allowed_vfolder_hosts=plain_json(row.allowed_vfolder_hosts),
            allowed_docker_registries=list(row.allowed_docker_registries or []),
            integration_id=row.integration_id,
        )

    async def resolve_scaling_groups(self, info: GraphQLResolveInfo) -> list[str]:
        async with ctx_of(info).db.connect() as conn:
            return await sgroup_service.associated_names(conn, "domain", self.name)


class DomainQueries:
    domain = graphene.Field(Domain, name=graphene.String())
    domains = graphene.List(Domain, is_active=graphene.Boolean())

    async def resolve_domain(self, info: GraphQLResolveInfo, name: str | None = None) -> Domain | None:
        ctx = ctx_of(info)
        name = domain_scope(ctx.requester, name)
        async with ctx.db.connect() as conn:
            row = (await conn.execute(domain_service.select_domains(ctx.requester, name=name))).first()
        return Domain.from_row(row) if row else None

    async def resolve_domains(self, info: GraphQLResolveInfo, is_active: bool | None = None) -> list[Domain]:
        ctx = ctx_of(info)
        require_superadmin(info)
        async with ctx.db.connect() as conn:
            rows = (await conn.execute(domain_service.select_domains(ctx.requester, is_active=is_active))).all()
        return [Domain.from_row(r) for r in rows]


def _domain_values(props: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("name", "description", "is_active", "integration_id"):
        if props.get(key) is not None:
            values[key] = props[key]
    if props.get("total_resource_slots") is not None:
        values["total_resource_slots"] = parse_slots_input(props.total_resource_slots, "total_resource_slots")
    if props.get("allowed_vfolder_hosts") is not None:
        values["allowed_vfolder_hosts"] = parse_json_input(props.allowed_vfolder_hosts, "allowed_vfolder_hosts")
    if props.get("allowed_docker_registries") is not None:
        values["allowed_docker_registries"] = list(props.allowed_docker_registries)
    return values


class DomainInput(graphene.InputObjectType):
    description = graphene.String(required=False, default_value="")
    is_active = graphene.Boolean(required=False, default_value=True)
    total_resource_slots = graphene.JSONString(required=False, default_value={})
    allowed_vfolder_hosts = graphene.JSONString(required=False, default_value={})
    allowed_docker_registries = graphene.List(lambda: graphene.String, required=False, default_value=[])
    integration_id = graphene.String(required=False, default_value=None)


class ModifyDomainInput(graphene.InputObjectType):
    name = graphene.String(required=False)
    description = graphene.String(required=False)
    is_active = graphene.Boolean(required=False)
    total_resource_slots = graphene.JSONString(required=False)
    allowed_vfolder_hosts = graphene.JSONString(required=False)
    allowed_docker_registries = graphene.List(lambda: graphene.String, required=False)
    integration_id = graphene.String(required=False)


class CreateDomain(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = DomainInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    domain = graphene.Field(lambda: Domain, required=False)

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> CreateDomain:
        require_superadmin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await domain_service.create(conn, name, _domain_values(props))
            return {"domain": Domain.from_row(row)}

        return await mutate(info, CreateDomain, work)


class ModifyDomain(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = ModifyDomainInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    domain = graphene.Field(lambda: Domain, required=False)

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> ModifyDomain:
        require_superadmin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await domain_service.modify(conn, name, _domain_values(props))
            return {"domain": Domain.from_row(row)}

        return await mutate(info, ModifyDomain, work)


class DeleteDomain(graphene.Mutation):
    """Deactivates the domain (purge_domain deletes it)."""

    class Arguments:
        name = graphene.String(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, name: str) -> DeleteDomain:
        require_superadmin(info)
        return await mutate(info, DeleteDomain, lambda conn: domain_service.deactivate(conn, name))


class PurgeDomain(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, name: str) -> PurgeDomain:
        require_superadmin(info)
        return await mutate(info, PurgeDomain, lambda conn: domain_service.purge(conn, name))


class DomainMutations:
    create_domain = CreateDomain.Field()
    modify_domain = ModifyDomain.Field()
    delete_domain = DeleteDomain.Field()
    purge_domain = PurgeDomain.Field()
