"""ResourcePreset type, queries and mutations (mutations: superadmin only)."""

from __future__ import annotations

from typing import Any

import graphene
import sqlalchemy as sa
from graphql import GraphQLResolveInfo

from ai.backend.common.types import BinarySize

from ..errors import InvalidAPIParameters
from ..models import resource_presets
from ..services import policies
from ..services import resources as resource_service
from .base import ctx_of, mutate, parse_slots_input, require_superadmin, slots_out


class ResourcePreset(graphene.ObjectType):
    id = graphene.UUID()
    name = graphene.String()
    resource_slots = graphene.JSONString()
    shared_memory = graphene.BigInt()
    scaling_group_name = graphene.String()

    @classmethod
    def from_row(cls, row: Any) -> ResourcePreset:
        return cls(id=row.id, name=row.name, resource_slots=slots_out(row.resource_slots),
                   shared_memory=row.shared_memory, scaling_group_name=row.scaling_group_name)


def _scope(name: str, scaling_group_name: str | None) -> sa.ColumnElement[bool]:
    return (resource_presets.c.name == name) & resource_presets.c.scaling_group_name.is_not_distinct_from(
        scaling_group_name)


class ResourcePresetQueries:
    resource_preset = graphene.Field(ResourcePreset, name=graphene.String(required=True),
                                     scaling_group_name=graphene.String())
    resource_presets = graphene.List(ResourcePreset, scaling_group_name=graphene.String())

    async def resolve_resource_preset(self, info: GraphQLResolveInfo, name: str,
                                      scaling_group_name: str | None = None) -> ResourcePreset | None:
        async with ctx_of(info).db.connect() as conn:
            row = (await conn.execute(sa.select(resource_presets).where(_scope(name, scaling_group_name)))).first()
        return ResourcePreset.from_row(row) if row else None

    async def resolve_resource_presets(self, info: GraphQLResolveInfo,
                                       scaling_group_name: str | None = None) -> list[ResourcePreset]:
        async with ctx_of(info).db.connect() as conn:
            rows = await resource_service.list_presets(conn, scaling_group_name)
        return [ResourcePreset.from_row(r) for r in rows]


def _values(props: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if props.get("name") is not None:
        values["name"] = props["name"]
    if props.get("resource_slots") is not None:
        slots = parse_slots_input(props["resource_slots"], "resource_slots")
        if not slots:
            raise InvalidAPIParameters("resource_slots must not be empty")
        values["resource_slots"] = slots
    if props.get("shared_memory") is not None:
        try:
            values["shared_memory"] = int(BinarySize.from_str(props["shared_memory"]))
        except ValueError:
            raise InvalidAPIParameters(f"invalid shared_memory: {props['shared_memory']!r}") from None
    if props.get("scaling_group_name") is not None:
        values["scaling_group_name"] = props["scaling_group_name"]
    return values


class CreateResourcePresetInput(graphene.InputObjectType):
    resource_slots = graphene.JSONString(required=True)
    shared_memory = graphene.String(required=False)
    scaling_group_name = graphene.String(required=False)


class ModifyResourcePresetInput(graphene.InputObjectType):
    name = graphene.String(required=False)
    resource_slots = graphene.JSONString(required=False)
    shared_memory = graphene.String(required=False)
    scaling_group_name = graphene.String(required=False)


class CreateResourcePreset(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = CreateResourcePresetInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    resource_preset = graphene.Field(lambda: ResourcePreset, required=False)

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> CreateResourcePreset:
        require_superadmin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await policies.create(conn, resource_presets, name, _values(props))
            return {"resource_preset": ResourcePreset.from_row(row)}

        return await mutate(info, CreateResourcePreset, work)


class ModifyResourcePreset(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = ModifyResourcePresetInput(required=True)
        scaling_group_name = graphene.String()

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any,
                     scaling_group_name: str | None = None) -> ModifyResourcePreset:
        require_superadmin(info)

        async def work(conn: Any) -> None:
            await policies.modify(conn, resource_presets, name, _values(props), where=_scope(name, scaling_group_name))

        return await mutate(info, ModifyResourcePreset, work)


class DeleteResourcePreset(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        scaling_group_name = graphene.String()

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, name: str,
                     scaling_group_name: str | None = None) -> DeleteResourcePreset:
        require_superadmin(info)
        return await mutate(info, DeleteResourcePreset, lambda conn: policies.delete(
            conn, resource_presets, name, where=_scope(name, scaling_group_name)))


class ResourcePresetMutations:
    create_resource_preset = CreateResourcePreset.Field()
    modify_resource_preset = ModifyResourcePreset.Field()
    delete_resource_preset = DeleteResourcePreset.Field()
