"""Keypair, user and project resource policies: types, queries and mutations."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..errors import InvalidAPIParameters, ObjectNotFound
from ..models import (
    DefaultForUnspecified,
    keypair_resource_policies,
    project_resource_policies,
    user_resource_policies,
)
from ..services import policies
from .base import (
    ctx_of,
    enum_value,
    mutate,
    parse_json_input,
    parse_slots_input,
    plain_json,
    require_admin,
    require_superadmin,
    slots_out,
)


class KeyPairResourcePolicy(graphene.ObjectType):
    name = graphene.String()
    created_at = graphene.DateTime()
    default_for_unspecified = graphene.String()
    total_resource_slots = graphene.JSONString()
    max_session_lifetime = graphene.Int()
    max_concurrent_sessions = graphene.Int()
    max_concurrent_sftp_sessions = graphene.Int()
    max_containers_per_session = graphene.Int()
    idle_timeout = graphene.BigInt()
    max_pending_session_count = graphene.Int()
    allowed_vfolder_hosts = graphene.JSONString()
    max_vfolder_count = graphene.Int()
    max_vfolder_size = graphene.BigInt()

    @classmethod
    def from_row(cls, row: Any) -> KeyPairResourcePolicy:
        return cls(
            name=row.name, created_at=row.created_at, default_for_unspecified=enum_value(row.default_for_unspecified),
            total_resource_slots=slots_out(row.total_resource_slots), max_session_lifetime=row.max_session_lifetime,
            max_concurrent_sessions=row.max_concurrent_sessions,
            max_concurrent_sftp_sessions=row.max_concurrent_sftp_sessions,
            max_containers_per_session=row.max_containers_per_session, idle_timeout=row.idle_timeout,
            max_pending_session_count=row.max_pending_session_count,
            allowed_vfolder_hosts=plain_json(row.allowed_vfolder_hosts),
            max_vfolder_count=row.max_vfolder_count, max_vfolder_size=row.max_vfolder_size,
        )


class UserResourcePolicy(graphene.ObjectType):
    name = graphene.String()
    created_at = graphene.DateTime()
    total_resource_slots = graphene.JSONString()
    max_vfolder_count = graphene.Int()
    max_quota_scope_size = graphene.BigInt()
    max_session_count_per_model_session = graphene.Int()
    max_customized_image_count = graphene.Int()

    @classmethod
    def from_row(cls, row: Any) -> UserResourcePolicy:
        return cls(name=row.name, created_at=row.created_at, total_resource_slots=slots_out(row.total_resource_slots),
                   max_vfolder_count=row.max_vfolder_count, max_quota_scope_size=row.max_quota_scope_size,
                   max_session_count_per_model_session=row.max_session_count_per_model_session,
                   max_customized_image_count=row.max_customized_image_count)


class ProjectResourcePolicy(graphene.ObjectType):
    name = graphene.String()
    created_at = graphene.DateTime()
    max_vfolder_count = graphene.Int()
    max_quota_scope_size = graphene.BigInt()
    max_network_count = graphene.Int()

    @classmethod
    def from_row(cls, row: Any) -> ProjectResourcePolicy:
        return cls(name=row.name, created_at=row.created_at, max_vfolder_count=row.max_vfolder_count,
                   max_quota_scope_size=row.max_quota_scope_size, max_network_count=row.max_network_count)


class PolicyQueries:
    keypair_resource_policy = graphene.Field(KeyPairResourcePolicy, name=graphene.String())
    keypair_resource_policies = graphene.List(KeyPairResourcePolicy)
    user_resource_policy = graphene.Field(UserResourcePolicy, name=graphene.String())
    user_resource_policies = graphene.List(UserResourcePolicy)
    project_resource_policy = graphene.Field(ProjectResourcePolicy, name=graphene.String(required=True))
    project_resource_policies = graphene.List(ProjectResourcePolicy)

    async def resolve_keypair_resource_policy(self, info: GraphQLResolveInfo,
                                              name: str | None = None) -> KeyPairResourcePolicy | None:
        ctx = ctx_of(info)
        r = ctx.requester
        if name is not None and name != r.resource_policy and not r.is_admin:
            return None  # users may read only their own keypair's policy
        async with ctx.db.connect() as conn:
            try:
                row = await policies.get(conn, keypair_resource_policies, name or r.resource_policy)
            except ObjectNotFound:
                return None
        return KeyPairResourcePolicy.from_row(row)

    async def resolve_keypair_resource_policies(self, info: GraphQLResolveInfo) -> list[KeyPairResourcePolicy]:
        require_admin(info)
        async with ctx_of(info).db.connect() as conn:
            return [KeyPairResourcePolicy.from_row(r) for r in await policies.list_all(conn, keypair_resource_policies)]

    async def resolve_user_resource_policy(self, info: GraphQLResolveInfo,
                                           name: str | None = None) -> UserResourcePolicy | None:
        ctx = ctx_of(info)
        if name is None:
            return None
        if not ctx.requester.is_admin:
            require_admin(info)
        async with ctx.db.connect() as conn:
            try:
                return UserResourcePolicy.from_row(await policies.get(conn, user_resource_policies, name))
            except ObjectNotFound:
                return None

    async def resolve_user_resource_policies(self, info: GraphQLResolveInfo) -> list[UserResourcePolicy]:
        require_admin(info)
        async with ctx_of(info).db.connect() as conn:
            return [UserResourcePolicy.from_row(r) for r in await policies.list_all(conn, user_resource_policies)]

    async def resolve_project_resource_policy(self, info: GraphQLResolveInfo, name: str) -> ProjectResourcePolicy | None:
        require_admin(info)
        async with ctx_of(info).db.connect() as conn:
            try:
                return ProjectResourcePolicy.from_row(await policies.get(conn, project_resource_policies, name))
            except ObjectNotFound:
                return None

    async def resolve_project_resource_policies(self, info: GraphQLResolveInfo) -> list[ProjectResourcePolicy]:
        require_admin(info)
        async with ctx_of(info).db.connect() as conn:
            return [ProjectResourcePolicy.from_row(r) for r in await policies.list_all(conn, project_resource_policies)]


_KP_INT_FIELDS = ("max_session_lifetime", "max_concurrent_sessions", "max_concurrent_sftp_sessions",
                  "max_containers_per_session", "idle_timeout", "max_pending_session_count",
                  "max_vfolder_count", "max_vfolder_size", "max_quota_scope_size",
                  "max_session_count_per_model_session", "max_customized_image_count", "max_network_count")


def _policy_values(props: Any, allowed: set[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in _KP_INT_FIELDS:
        if key in allowed and props.get(key) is not None:
            if key != "max_quota_scope_size" and props[key] < 0:
                raise InvalidAPIParameters(f"{key} must not be negative")
            values[key] = props[key]
    if "default_for_unspecified" in allowed and props.get("default_for_unspecified") is not None:
        try:
            values["default_for_unspecified"] = DefaultForUnspecified(str(props["default_for_unspecified"]).upper())
        except ValueError:
            raise InvalidAPIParameters("default_for_unspecified must be LIMITED or UNLIMITED") from None
    if "total_resource_slots" in allowed and props.get("total_resource_slots") is not None:
        values["total_resource_slots"] = parse_slots_input(props["total_resource_slots"], "total_resource_slots")
    if "allowed_vfolder_hosts" in allowed and props.get("allowed_vfolder_hosts") is not None:
        values["allowed_vfolder_hosts"] = parse_json_input(props["allowed_vfolder_hosts"], "allowed_vfolder_hosts")
    return values


_KP_FIELDS = {"default_for_unspecified", "total_resource_slots", "max_session_lifetime", "max_concurrent_sessions",
              "max_concurrent_sftp_sessions", "max_containers_per_session", "idle_timeout",
              "max_pending_session_count", "allowed_vfolder_hosts", "max_vfolder_count", "max_vfolder_size"}
_USER_FIELDS = {"total_resource_slots", "max_vfolder_count", "max_quota_scope_size",
                "max_session_count_per_model_session", "max_customized_image_count"}
_PROJECT_FIELDS = {"max_vfolder_count", "max_quota_scope_size", "max_network_count"}


def _kp_input_fields(required: bool) -> dict[str, Any]:
    return {
        "default_for_unspecified": graphene.String(required=required),
        "total_resource_slots": graphene.JSONString(required=required),
        "max_session_lifetime": graphene.Int(required=False),
        "max_concurrent_sessions": graphene.Int(required=required),
        "max_concurrent_sftp_sessions": graphene.Int(required=False),
        "max_containers_per_session": graphene.Int(required=required),
        "idle_timeout": graphene.BigInt(required=required),
        "max_pending_session_count": graphene.Int(required=False),
        "allowed_vfolder_hosts": graphene.JSONString(required=False),
        "max_vfolder_count": graphene.Int(required=False),
        "max_vfolder_size": graphene.BigInt(required=False),
    }


CreateKeyPairResourcePolicyInput = type("CreateKeyPairResourcePolicyInput", (graphene.InputObjectType,),
                                        _kp_input_fields(True))
ModifyKeyPairResourcePolicyInput = type("ModifyKeyPairResourcePolicyInput", (graphene.InputObjectType,),
                                        _kp_input_fields(False))


class _UserPolicyFields:
    total_resource_slots = graphene.JSONString(required=False)
    max_vfolder_count = graphene.Int(required=False)
    max_quota_scope_size = graphene.BigInt(required=False)
    max_session_count_per_model_session = graphene.Int(required=False)
    max_customized_image_count = graphene.Int(required=False)


class CreateUserResourcePolicyInput(_UserPolicyFields, graphene.InputObjectType):
    pass


class ModifyUserResourcePolicyInput(_UserPolicyFields, graphene.InputObjectType):
    pass


class _ProjectPolicyFields:
    max_vfolder_count = graphene.Int(required=False)
    max_quota_scope_size = graphene.BigInt(required=False)
    max_network_count = graphene.Int(required=False)


class CreateProjectResourcePolicyInput(_ProjectPolicyFields, graphene.InputObjectType):
    pass


class ModifyProjectResourcePolicyInput(_ProjectPolicyFields, graphene.InputObjectType):
    pass


def _policy_mutations(kind: str, table: Any, type_: Any, fields: set[str],
                      create_input: Any, modify_input: Any) -> dict[str, Any]:
    """create_/modify_/delete_<kind>_resource_policy for one policy table."""
    prefix = {"keypair": "KeyPair", "user": "User", "project": "Project"}[kind]

    class Create(graphene.Mutation):
        class Meta:
            name = f"Create{prefix}ResourcePolicy"

        class Arguments:
            name = graphene.String(required=True)
            props = create_input(required=True)

        ok = graphene.Boolean()
        msg = graphene.String()
        resource_policy = graphene.Field(type_, required=False)

        async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> Any:
            require_superadmin(info)

            async def work(conn: Any) -> dict[str, Any]:
                row = await policies.create(conn, table, name, _policy_values(props, fields))
                return {"resource_policy": type_.from_row(row)}

            return await mutate(info, Create, work)

    class Modify(graphene.Mutation):
        class Meta:
            name = f"Modify{prefix}ResourcePolicy"

        class Arguments:
            name = graphene.String(required=True)
            props = modify_input(required=True)

        ok = graphene.Boolean()
        msg = graphene.String()

        async def mutate(self, info: GraphQLResolveInfo, name: str, props: Any) -> Any:
            require_superadmin(info)

            async def work(conn: Any) -> None:
                await policies.modify(conn, table, name, _policy_values(props, fields))

            return await mutate(info, Modify, work)

    class Delete(graphene.Mutation):
        class Meta:
            name = f"Delete{prefix}ResourcePolicy"

        class Arguments:
            name = graphene.String(required=True)

        ok = graphene.Boolean()
        msg = graphene.String()

        async def mutate(self, info: GraphQLResolveInfo, name: str) -> Any:
            require_superadmin(info)
            return await mutate(info, Delete, lambda conn: policies.delete(conn, table, name))

    return {
        f"create_{kind}_resource_policy": Create.Field(),
        f"modify_{kind}_resource_policy": Modify.Field(),
        f"delete_{kind}_resource_policy": Delete.Field(),
    }


PolicyMutations = type("PolicyMutations", (), {
    **_policy_mutations("keypair", keypair_resource_policies, KeyPairResourcePolicy, _KP_FIELDS,
                        CreateKeyPairResourcePolicyInput, ModifyKeyPairResourcePolicyInput),
    **_policy_mutations("user", user_resource_policies, UserResourcePolicy, _USER_FIELDS,
                        CreateUserResourcePolicyInput, ModifyUserResourcePolicyInput),
    **_policy_mutations("project", project_resource_policies, ProjectResourcePolicy, _PROJECT_FIELDS,
                        CreateProjectResourcePolicyInput, ModifyProjectResourcePolicyInput),
})
