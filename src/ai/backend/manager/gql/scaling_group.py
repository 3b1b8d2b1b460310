"""ScalingGroup (resource group) type, queries, mutations and the association mutations.
Changes are for superadmins."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..errors import ObjectNotFound
from ..services import scaling_groups as sgroup_service
from .base import ctx_of, mutate, parse_json_input, plain_json, require_superadmin
from .group import as_uuid


class ScalingGroup(graphene.ObjectType):
    name = graphene.String()
    description = graphene.String()
    is_active = graphene.Boolean()
    is_public = graphene.Boolean()
    created_at = graphene.DateTime()
    wsproxy_addr = graphene.String()
    wsproxy_api_token = graphene.String()
    driver = graphene.String()
    driver_opts = graphene.JSONString()
    scheduler = graphene.String()
    scheduler_opts = graphene.JSONString()
    use_host_network = graphene.Boolean()

    @classmethod
    def from_row(cls, row: Any) -> ScalingGroup:
        return cls(name=row.name, description=row.description, is_active=row.is_active, is_public=row.is_public,
                   created_at=row.created_at, wsproxy_addr=row.wsproxy_addr,
                   wsproxy_api_token=row.wsproxy_api_token, driver=row.driver,
                   driver_opts=plain_json(row.driver_opts), scheduler=row.scheduler,
                   scheduler_opts=plain_json(row.scheduler_opts), use_host_network=row.use_host_network)


async def _list(info: GraphQLResolveInfo, **kwargs: Any) -> list[ScalingGroup]:
    ctx = ctx_of(info)
    async with ctx.db.connect() as conn:
        rows = (await conn.execute(sgroup_service.select_scaling_groups(ctx.requester, **kwargs))).all()
    return [ScalingGroup.from_row(r) for r in rows]


class ScalingGroupQueries:
    scaling_group = graphene.Field(ScalingGroup, name=graphene.String())
    scaling_groups = graphene.List(ScalingGroup, name=graphene.String(), is_active=graphene.Boolean())
    scaling_groups_for_domain = graphene.List(ScalingGroup, domain=graphene.String(required=True),
                                              is_active=graphene.Boolean())
    scaling_groups_for_user_group = graphene.List(ScalingGroup, user_group=graphene.String(required=True),
                                                  is_active=graphene.Boolean())
    scaling_groups_for_keypair = graphene.List(ScalingGroup, access_key=graphene.String(required=True),
                                               is_active=graphene.Boolean())

    async def resolve_scaling_group(self, info: GraphQLResolveInfo, name: str | None = None) -> ScalingGroup | None:
        if name is None:
            return None
        items = await _list(info, name=name)
        return items[0] if items else None

    async def resolve_scaling_groups(self, info: GraphQLResolveInfo, name: str | None = None,
                                     is_active: bool | None = None) -> list[ScalingGroup]:
        return await _list(info, name=name, is_active=is_active)

    async def resolve_scaling_groups_for_domain(self, info: GraphQLResolveInfo, domain: str,
                                                is_active: bool | None = None) -> list[ScalingGroup]:
        return await _list(info, is_active=is_active, association=("domain", domain))

    async def resolve_scaling_groups_for_user_group(self, info: GraphQLResolveInfo, user_group: Any,
                                                    is_active: bool | None = None) -> list[ScalingGroup]:
        return await _list(info, is_active=is_active, association=("group", as_uuid(user_group, "user_group")))

    async def resolve_scaling_groups_for_keypair(self, info: GraphQLResolveInfo, access_key: str,
                                                 is_active: bool | None = None) -> list[ScalingGroup]:
        return await _list(info, is_active=is_active, association=("keypair", access_key))


def _values(props: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("description", "is_active", "is_public", "wsproxy_addr", "wsproxy_api_token", "driver",
                "scheduler", "use_host_network"):
        if props.get(key) is not None:
            values[key] = props[key]
    for key in ("driver_opts", "scheduler_opts"):
        if props.get(key) is not None:
            values[key] = parse_json_input(props[key], key)
    return values


class _SGroupFields:
    description = graphene.String(required=False)
    is_active = graphene.Boolean(required=False)
    is_public = graphene.Boolean(required=False)
    wsproxy_addr = graphene.String(required=False)
    wsproxy_api_token = graphene.String(required=False)
    driver_opts = graphene.JSONString(required=False)
    scheduler_opts = graphene.JSONString(required=False)
    use_host_network = graphene.Boolean(required=False)


class CreateScalingGroupInput(_SGroupFields, graphene.InputObjectType):
    driver = graphene.String(required=True)
    scheduler = graphene.String(required=True)


class ScalingGroupInput(_SGroupFields, graphene.InputObjectType):
    """The name the reference manual uses for CreateScalingGroupInput."""

    driver = graphene.String(required=True)
    scheduler = graphene.String(required=True)


class ModifyScalingGroupInput(_SGroupFields, graphene.InputObjectType):
    driver = graphene.String(required=False)
    scheduler = graphene.String(required=False)


class CreateScalingGroup(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = CreateScalingGroupInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    scaling_group = graphene.Field(lambda: ScalingGroup, required=False)

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> CreateScalingGroup:
        require_superadmin(info)

        async def work(conn: Any) -> dict[str, Any]:
            return {"scaling_group": ScalingGroup.from_row(await sgroup_service.create(conn, name, _values(props)))}

        return await mutate(info, CreateScalingGroup, work)


class ModifyScalingGroup(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)
        props = ModifyScalingGroupInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> ModifyScalingGroup:
        require_superadmin(info)

        async def work(conn: Any) -> None:
            await sgroup_service.modify(conn, name, _values(props))

        return await mutate(info, ModifyScalingGroup, work)


class DeleteScalingGroup(graphene.Mutation):
    class Arguments:
        name = graphene.String(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, name: str) -> DeleteScalingGroup:
        require_superadmin(info)
        return await mutate(info, DeleteScalingGroup, lambda conn: sgroup_service.delete(conn, name))


def _association_mutation(type_name: str, kind: str, target_arg: str, *, associate: bool,
                          all_groups: bool = False) -> Any:
    """One (dis)associate_scaling_group(s)_with_<kind> mutation."""
    args: dict[str, Any] = {target_arg: graphene.String(required=True)}
    if not all_groups:
        args["scaling_group"] = graphene.String(required=True)

    async def _mutate(self: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        require_superadmin(info)
        target: Any = kwargs[target_arg]
        if kind == "group":
            target = as_uuid(target, target_arg)
        sgroup = kwargs.get("scaling_group")

        async def work(conn: Any) -> None:
            await sgroup_service.check_target_exists(conn, kind, target)
            if associate:
                assert sgroup is not None
                if await sgroup_service.get(conn, sgroup) is None:
                    raise ObjectNotFound(object_name="scaling group")
                await sgroup_service.associate(conn, kind, sgroup, target)
            else:
                await sgroup_service.disassociate(conn, kind, sgroup, target)

        return await mutate(info, cls, work)

    cls = type(type_name, (graphene.Mutation,), {
        "Arguments": type("Arguments", (), args),
        "ok": graphene.Boolean(),
        "msg": graphene.String(),
        "mutate": _mutate,
    })
    return cls


_ASSOC = {
    "associate_scaling_group_with_domain": ("AssociateScalingGroupWithDomain", "domain", "domain", True, False),
    "associate_scaling_group_with_user_group": ("AssociateScalingGroupWithUserGroup", "group", "user_group", True, False),
    "associate_scaling_group_with_keypair": ("AssociateScalingGroupWithKeyPair", "keypair", "access_key", True, False),
    "disassociate_scaling_group_with_domain": ("DisassociateScalingGroupWithDomain", "domain", "domain", False, False),
    "disassociate_scaling_group_with_user_group": ("DisassociateScalingGroupWithUserGroup", "group", "user_group", False, False),
    "disassociate_scaling_group_with_keypair": ("DisassociateScalingGroupWithKeyPair", "keypair", "access_key", False, False),
    "disassociate_all_scaling_groups_with_domain": ("DisassociateAllScalingGroupsWithDomain", "domain", "domain", False, True),
    "disassociate_all_scaling_groups_with_group": ("DisassociateAllScalingGroupsWithGroup", "group", "user_group", False, True),
}

ScalingGroupMutations = type("ScalingGroupMutations", (), {
    "create_scaling_group": CreateScalingGroup.Field(),
    "modify_scaling_group": ModifyScalingGroup.Field(),
    "delete_scaling_group": DeleteScalingGroup.Field(),
    **{field: _association_mutation(tn, kind, arg, associate=assoc, all_groups=all_).Field()
       for field, (tn, kind, arg, assoc, all_) in _ASSOC.items()},
})
