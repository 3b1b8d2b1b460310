"""Group (project) type, queries and mutations."""

from __future__ import annotations

import uuid
from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..errors import InvalidAPIParameters
from ..services import groups as group_service
from ..services import scaling_groups as sgroup_service
from .base import (
    ctx_of,
    domain_scope,
    enum_value,
    mutate,
    parse_json_input,
    parse_slots_input,
    plain_json,
    require_admin,
    slots_out,
)


class Group(graphene.ObjectType):
    id = graphene.UUID()
    name = graphene.String()
    description = graphene.String()
    is_active = graphene.Boolean()
    created_at = graphene.DateTime()
    modified_at = graphene.DateTime()
    domain_name = graphene.String()
    total_resource_slots = graphene.JSONString()
    allowed_vfolder_hosts = graphene.JSONString()
    integration_id = graphene.String()
    resource_policy = graphene.String()
    type = graphene.String()
    scaling_groups = graphene.List(lambda: graphene.String)

    @classmethod
    def from_row(cls, row: Any) -> Group:
        return cls(
            id=row.id, name=row.name, description=row.description, is_active=row.is_active,
            created_at=row.created_at, modified_at=row.modified_at, domain_name=row.domain_name,
            total_resource_slots=slots_out(row.total_resource_slots),
            allowed_vfolder_hosts=plain_json(row.allowed_vfolder_hosts),
            integration_id=row.integration_id, resource_policy=row.resource_policy,
            type=enum_value(row.type),
        )

    async def resolve_scaling_groups(self, info: GraphQLResolveInfo) -> list[str]:
        async with ctx_of(info).db.connect() as conn:
            return await sgroup_service.associated_names(conn, "group", self.id)


def as_uuid(value: Any, what: str = "id") -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidAPIParameters(f"{what} is not a UUID: {value!r}") from None


class GroupQueries:
    group = graphene.Field(Group, id=graphene.UUID(required=True), domain_name=graphene.String())
    groups = graphene.List(Group, domain_name=graphene.String(), is_active=graphene.Boolean(),
                           type=graphene.List(lambda: graphene.String))
    groups_by_name = graphene.List(Group, name=graphene.String(required=True), domain_name=graphene.String())

    async def resolve_group(self, info: GraphQLResolveInfo, id: Any, domain_name: str | None = None) -> Group | None:
        ctx = ctx_of(info)
        query = group_service.select_groups(ctx.requester, group_id=as_uuid(id), domain_name=domain_name)
        async with ctx.db.connect() as conn:
            row = (await conn.execute(query)).first()
        return Group.from_row(row) if row else None

    async def resolve_groups(self, info: GraphQLResolveInfo, domain_name: str | None = None,
                             is_active: bool | None = None, type: list[str] | None = None) -> list[Group]:
        ctx = ctx_of(info)
        r = ctx.requester
        scope = domain_scope(r, domain_name) if (domain_name or not r.is_superadmin) else None
        query = group_service.select_groups(r, domain_name=scope, is_active=is_active, types=type)
        async with ctx.db.connect() as conn:
            return [Group.from_row(row) for row in (await conn.execute(query)).all()]

    async def resolve_groups_by_name(self, info: GraphQLResolveInfo, name: str,
                                     domain_name: str | None = None) -> list[Group]:
        ctx = ctx_of(info)
        query = group_service.select_groups(ctx.requester, name=name, domain_name=domain_name)
        async with ctx.db.connect() as conn:
            return [Group.from_row(row) for row in (await conn.execute(query)).all()]


def _group_values(props: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("name", "description", "is_active", "domain_name", "integration_id", "resource_policy", "type"):
        if props.get(key) is not None:
            values[key] = props[key]
    if props.get("total_resource_slots") is not None:
        values["total_resource_slots"] = parse_slots_input(props["total_resource_slots"], "total_resource_slots")
    if props.get("allowed_vfolder_hosts") is not None:
        values["allowed_vfolder_hosts"] = parse_json_input(props["allowed_vfolder_hosts"], "allowed_vfolder_hosts")
    return values


class GroupInput(graphene.InputObjectType):
    type = graphene.String(required=False, default_value="general")
    description = graphene.String(required=False, default_value="")
    is_active = graphene.Boolean(required=False, default_value=True)
    domain_name = graphene.String(required=True)
    total_resource_slots = graphene.JSONString(required=False, default_value={})
    allowed_vfolder_hosts = graphene.JSONString(required=False, default_value={})
    integration_id = graphene.String(required=False, default_value="")
    resource_policy = graphene.String(required=False, default_value="default")


class ModifyGroupInput(graphene.InputObjectType):
    name = graphene.String(required=False)
    description = graphene.String(required=False)
    is_active = graphene.Boolean(required=False)
    domain_name = graphene.String(required=False)
    total_resource_slots = graphene.JSONString(required=False)
    user_update_mode = graphene.String(required=False)
    user_uuids = graphene.List(lambda: graphene.String, required=False)
    allowed_vfolder_hosts = graphene.JSONString(required=False)
    integration_id = graphene.String(required=False)
    resource_policy = graphene.String(required=False)


class CreateGroup(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = GroupInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    group = graphene.Field(lambda: Group, required=False)

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> CreateGroup:
        requester = require_admin(info)

        async def work(conn: Any) -> dict[str, Any]:
            return {"group": Group.from_row(await group_service.create(conn, requester, name, _group_values(props)))}

        return await mutate(info, CreateGroup, work)


class ModifyGroup(graphene.Mutation):
    class Arguments:
        gid = graphene.UUID(required=True)
        props = ModifyGroupInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    group = graphene.Field(lambda: Group, required=False)

    async def mutate(self, info: GraphQLResolveInfo, gid: Any, props: Any) -> ModifyGroup:
        requester = require_admin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await group_service.modify(
                conn, requester, as_uuid(gid, "gid"), _group_values(props),
                user_update_mode=props.get("user_update_mode"), user_uuids=props.get("user_uuids"))
            return {"group": Group.from_row(row)}

        return await mutate(info, ModifyGroup, work)


class DeleteGroup(graphene.Mutation):
    """Deactivates the project (purge_group deletes it)."""

    class Arguments:
        gid = graphene.UUID(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, gid: Any) -> DeleteGroup:
        requester = require_admin(info)
        return await mutate(info, DeleteGroup, lambda conn: group_service.deactivate(conn, requester, as_uuid(gid, "gid")))


class PurgeGroup(graphene.Mutation):
    class Arguments:
        gid = graphene.UUID(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, gid: Any) -> PurgeGroup:
        requester = require_admin(info)
        return await mutate(info, PurgeGroup, lambda conn: group_service.purge(conn, requester, as_uuid(gid, "gid")))


class GroupMutations:
    create_group = CreateGroup.Field()
    modify_group = ModifyGroup.Field()
    delete_group = DeleteGroup.Field()
    purge_group = PurgeGroup.Field()
