"""User type, queries (user, user_from_uuid, users, user_list) and mutations."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import graphene
from graphql import GraphQLResolveInfo

from ..errors import InvalidAPIParameters, ObjectNotFound
from ..models import UserStatus, users
from ..services import users as user_service
from .base import (
    ctx_of,
    domain_scope,
    enum_value,
    mutate,
    paginate,
    paginated_list_args,
    require_admin,
)

_FILTER_FIELDS: dict[str, Any] = {
    "uuid": users.c.uuid, "username": users.c.username, "role": users.c.role, "email": users.c.email,
    "full_name": users.c.full_name, "need_password_change": users.c.need_password_change,
    "status": users.c.status, "status_info": users.c.status_info, "created_at": users.c.created_at,
    "modified_at": users.c.modified_at, "domain_name": users.c.domain_name,
    "allowed_client_ip": users.c.allowed_client_ip, "description": users.c.description,
}


class UserGroup(graphene.ObjectType):
    id = graphene.UUID()
    name = graphene.String()


class User(graphene.ObjectType):
    id = graphene.UUID()
    uuid = graphene.UUID()
    username = graphene.String()
    email = graphene.String()
    need_password_change = graphene.Boolean()
    full_name = graphene.String()
    description = graphene.String()
    is_active = graphene.Boolean()
    status = graphene.String()
    status_info = graphene.String()
    created_at = graphene.DateTime()
    modified_at = graphene.DateTime()
    domain_name = graphene.String()
    role = graphene.String()
    resource_policy = graphene.String()
    allowed_client_ip = graphene.List(lambda: graphene.String)
    totp_activated = graphene.Boolean()
    totp_activated_at = graphene.DateTime()
    sudo_session_enabled = graphene.Boolean()
    main_access_key = graphene.String()
    groups = graphene.List(UserGroup)

    @classmethod
    def from_row(cls, row: Any, groups: list[tuple[UUID, str]] | None = None) -> User:
        obj = cls(
            id=row.uuid, uuid=row.uuid, username=row.username, email=row.email,
            need_password_change=row.need_password_change, full_name=row.full_name,
            description=row.description, is_active=row.status == UserStatus.ACTIVE,
            status=enum_value(row.status), status_info=row.status_info, created_at=row.created_at,
            modified_at=row.modified_at, domain_name=row.domain_name, role=enum_value(row.role),
            resource_policy=row.resource_policy, allowed_client_ip=row.allowed_client_ip,
            totp_activated=row.totp_activated, totp_activated_at=row.totp_activated_at,
            sudo_session_enabled=row.sudo_session_enabled, main_access_key=row.main_access_key,
        )
        obj._groups = groups
        return obj

    async def resolve_groups(self, info: GraphQLResolveInfo) -> list[UserGroup]:
        groups = getattr(self, "_groups", None)
        if groups is None:
            async with ctx_of(info).db.connect() as conn:
                groups = (await user_service.groups_of(conn, [self.uuid]))[self.uuid]
        return [UserGroup(id=gid, name=name) for gid, name in groups]


async def users_with_groups(conn: Any, rows: list[Any]) -> list[User]:
    memberships = await user_service.groups_of(conn, [r.uuid for r in rows])
    return [User.from_row(r, memberships[r.uuid]) for r in rows]


class UserList(graphene.ObjectType):
    items = graphene.List(User, required=True)
    total_count = graphene.Int(required=True)


def _group_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidAPIParameters(f"group_id is not a UUID: {value!r}") from None


class UserQueries:
    user = graphene.Field(User, domain_name=graphene.String(), email=graphene.String())
    user_from_uuid = graphene.Field(User, domain_name=graphene.String(), user_id=graphene.ID())
    users = graphene.List(User, domain_name=graphene.String(), group_id=graphene.UUID(),
                          is_active=graphene.Boolean(), status=graphene.String())
    user_list = graphene.Field(UserList, **paginated_list_args(
        domain_name=graphene.String(), group_id=graphene.UUID(), is_active=graphene.Boolean(),
        status=graphene.String()))

    async def resolve_user(self, info: GraphQLResolveInfo, domain_name: str | None = None,
                           email: str | None = None) -> User | None:
        ctx = ctx_of(info)
        r = ctx.requester
        scope = domain_scope(r, domain_name) if domain_name else None
        async with ctx.db.connect() as conn:
            try:
                row = await user_service.get_scoped(conn, r, email=email or r.email)
            except ObjectNotFound:
                return None
            if scope is not None and row.domain_name != scope:
                return None
            return (await users_with_groups(conn, [row]))[0]

    async def resolve_user_from_uuid(self, info: GraphQLResolveInfo, domain_name: str | None = None,
                                     user_id: str | None = None) -> User | None:
        ctx = ctx_of(info)
        r = ctx.requester
        target = _group_uuid(user_id) if user_id else r.user_uuid
        async with ctx.db.connect() as conn:
            try:
                row = await user_service.get_scoped(conn, r, user_uuid=target)
            except ObjectNotFound:
                return None
            if domain_name is not None and row.domain_name != domain_name:
                return None
            return (await users_with_groups(conn, [row]))[0]

    async def resolve_users(self, info: GraphQLResolveInfo, domain_name: str | None = None,
                            group_id: Any = None, is_active: bool | None = None,
                            status: str | None = None) -> list[User]:
        ctx = ctx_of(info)
        require_admin(info)
        query = user_service.select_users(ctx.requester, domain_name=domain_scope(ctx.requester, domain_name),
                                          group_id=_group_uuid(group_id), status=status, is_active=is_active)
        async with ctx.db.connect() as conn:
            rows = (await conn.execute(query.order_by(users.c.created_at))).all()
            return await users_with_groups(conn, list(rows))

    async def resolve_user_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                filter: str | None = None, order: str | None = None,
                                domain_name: str | None = None, group_id: Any = None,
                                is_active: bool | None = None, status: str | None = None) -> UserList:
        ctx = ctx_of(info)
        r = ctx.requester
        query = user_service.select_users(r, domain_name=domain_scope(r, domain_name) if domain_name else None,
                                          group_id=_group_uuid(group_id), status=status, is_active=is_active)
        async with ctx.db.connect() as conn:
            page = await paginate(conn, query, limit=limit, offset=offset, filter_expr=filter,
                                  order_expr=order, fields=_FILTER_FIELDS,
                                  default_order=[users.c.created_at, users.c.email])
            return UserList(items=await users_with_groups(conn, list(page.rows)), total_count=page.total_count)


# --- mutations --------------------------------------------------------------------------------

class UserInput(graphene.InputObjectType):
    username = graphene.String(required=False)
    password = graphene.String(required=True)
    need_password_change = graphene.Boolean(required=True)
    full_name = graphene.String(required=False, default_value="")
    description = graphene.String(required=False, default_value="")
    is_active = graphene.Boolean(required=False)
    status = graphene.String(required=False, default_value=UserStatus.ACTIVE.value)
    domain_name = graphene.String(required=True, default_value="default")
    role = graphene.String(required=False, default_value="user")
    group_ids = graphene.List(lambda: graphene.String, required=False)
    allowed_client_ip = graphene.List(lambda: graphene.String, required=False)
    totp_activated = graphene.Boolean(required=False, default_value=False)
    resource_policy = graphene.String(required=False, default_value="default")
    sudo_session_enabled = graphene.Boolean(required=False, default_value=False)


class ModifyUserInput(graphene.InputObjectType):
    username = graphene.String(required=False)
    password = graphene.String(required=False)
    need_password_change = graphene.Boolean(required=False)
    full_name = graphene.String(required=False)
    description = graphene.String(required=False)
    is_active = graphene.Boolean(required=False)
    status = graphene.String(required=False)
    domain_name = graphene.String(required=False)
    role = graphene.String(required=False)
    group_ids = graphene.List(lambda: graphene.String, required=False)
    allowed_client_ip = graphene.List(lambda: graphene.String, required=False)
    totp_activated = graphene.Boolean(required=False)
    resource_policy = graphene.String(required=False)
    sudo_session_enabled = graphene.Boolean(required=False)
    main_access_key = graphene.String(required=False)


class PurgeUserInput(graphene.InputObjectType):
    purge_shared_vfolders = graphene.Boolean(required=False, default_value=False)


class CreateUser(graphene.Mutation):
    class Arguments:
        email = graphene.String(required=True)
        props = UserInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    user = graphene.Field(lambda: User, required=False)

    async def mutate(self, info: GraphQLResolveInfo, email: str, props: Any) -> CreateUser:
        requester = require_admin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await user_service.create(conn, requester, email, dict(props))
            return {"user": (await users_with_groups(conn, [row]))[0]}

        return await mutate(info, CreateUser, work)


class ModifyUser(graphene.Mutation):
    class Arguments:
        email = graphene.String(required=True)
        props = ModifyUserInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    user = graphene.Field(lambda: User, required=False)

    async def mutate(self, info: GraphQLResolveInfo, email: str, props: Any) -> ModifyUser:
        requester = require_admin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await user_service.modify(conn, requester, email, dict(props))
            return {"user": (await users_with_groups(conn, [row]))[0]}

        return await mutate(info, ModifyUser, work)


class DeleteUser(graphene.Mutation):
    """Marks the user deleted and deactivates their keypairs (purge_user removes them)."""

    class Arguments:
        email = graphene.String(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, email: str) -> DeleteUser:
        requester = require_admin(info)
        return await mutate(info, DeleteUser, lambda conn: user_service.delete(conn, requester, email))


class PurgeUser(graphene.Mutation):
    class Arguments:
        email = graphene.String(required=True)
        props = PurgeUserInput(required=False)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, email: str, props: Any = None) -> PurgeUser:
        requester = require_admin(info)
        return await mutate(info, PurgeUser, lambda conn: user_service.purge(conn, requester, email))


class UserMutations:
    create_user = CreateUser.Field()
    modify_user = ModifyUser.Field()
    delete_user = DeleteUser.Field()
    purge_user = PurgeUser.Field()
