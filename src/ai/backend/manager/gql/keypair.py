"""KeyPair type, queries (keypair, keypairs, keypair_list) and mutations."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..errors import ObjectNotFound
from ..models import keypairs, users
from ..services import keypairs as keypair_service
from .base import ctx_of, domain_scope, mutate, paginate, paginated_list_args, require_admin

_FILTER_FIELDS: dict[str, Any] = {
    "user_id": keypairs.c.user_id, "email": users.c.email, "full_name": users.c.full_name,
    "access_key": keypairs.c.access_key, "is_active": keypairs.c.is_active,
    "is_admin": keypairs.c.is_admin, "resource_policy": keypairs.c.resource_policy,
    "created_at": keypairs.c.created_at, "modified_at": keypairs.c.modified_at,
    "last_used": keypairs.c.last_used, "rate_limit": keypairs.c.rate_limit,
    "num_queries": keypairs.c.num_queries, "domain_name": users.c.domain_name,
}


class UserInfo(graphene.ObjectType):
    email = graphene.String()
    full_name = graphene.String()
    domain_name = graphene.String()


class KeyPair(graphene.ObjectType):
    id = graphene.ID()
    user_id = graphene.String()
    full_name = graphene.String()
    access_key = graphene.String()
    secret_key = graphene.String()
    is_active = graphene.Boolean()
    is_admin = graphene.Boolean()
    resource_policy = graphene.String()
    created_at = graphene.DateTime()
    modified_at = graphene.DateTime()
    last_used = graphene.DateTime()
    rate_limit = graphene.Int()
    num_queries = graphene.Int()
    concurrency_used = graphene.Int()
    user = graphene.UUID()
    projects = graphene.List(lambda: graphene.String)
    user_info = graphene.Field(UserInfo)
    ssh_public_key = graphene.String()
    ssh_private_key = graphene.String()
    bootstrap_script = graphene.String()
    domain_name = graphene.String()

    @classmethod
    def from_row(cls, row: Any, *, concurrency: int = 0, projects: list[str] | None = None) -> KeyPair:
        return cls(
            id=row.access_key, user_id=row.user_id, full_name=row.full_name, access_key=row.access_key,
            secret_key=row.secret_key, is_active=row.is_active, is_admin=row.is_admin,
            resource_policy=row.resource_policy, created_at=row.created_at, modified_at=row.modified_at,
            last_used=row.last_used, rate_limit=row.rate_limit, num_queries=row.num_queries,
            concurrency_used=concurrency, user=row.user, projects=projects or [],
            user_info=UserInfo(email=row.owner_email, full_name=row.full_name, domain_name=row.domain_name),
            ssh_public_key=row.ssh_public_key, ssh_private_key=row.ssh_private_key,
            bootstrap_script=row.bootstrap_script, domain_name=row.domain_name,
        )


async def keypairs_from_rows(conn: Any, rows: list[Any]) -> list[KeyPair]:
    if not rows:
        return []
    counts = await keypair_service.concurrency_used(conn, [r.access_key for r in rows])
    projects = await keypair_service.projects_of(conn, list({r.user for r in rows}))
    return [KeyPair.from_row(r, concurrency=counts[r.access_key], projects=projects[r.user]) for r in rows]


class KeyPairList(graphene.ObjectType):
    items = graphene.List(KeyPair, required=True)
    total_count = graphene.Int(required=True)


class KeyPairQueries:
    keypair = graphene.Field(KeyPair, domain_name=graphene.String(), access_key=graphene.String())
    keypairs = graphene.List(KeyPair, domain_name=graphene.String(), email=graphene.String(),
                             is_active=graphene.Boolean())
    keypair_list = graphene.Field(KeyPairList, **paginated_list_args(
        domain_name=graphene.String(), email=graphene.String(), is_active=graphene.Boolean()))

    async def resolve_keypair(self, info: GraphQLResolveInfo, domain_name: str | None = None,
                              access_key: str | None = None) -> KeyPair | None:
        ctx = ctx_of(info)
        async with ctx.db.connect() as conn:
            try:
                row = await keypair_service.get_scoped(conn, ctx.requester, access_key or ctx.requester.access_key)
            except ObjectNotFound:
                return None
            if domain_name is not None and row.domain_name != domain_name:
                return None
            return (await keypairs_from_rows(conn, [row]))[0]

    async def resolve_keypairs(self, info: GraphQLResolveInfo, domain_name: str | None = None,
                               email: str | None = None, is_active: bool | None = None) -> list[KeyPair]:
        ctx = ctx_of(info)
        require_admin(info)
        query = keypair_service.select_keypairs(ctx.requester, domain_name=domain_scope(ctx.requester, domain_name),
                                                email=email, is_active=is_active)
        async with ctx.db.connect() as conn:
            rows = (await conn.execute(query.order_by(keypairs.c.created_at))).all()
            return await keypairs_from_rows(conn, list(rows))

    async def resolve_keypair_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                   filter: str | None = None, order: str | None = None,
                                   domain_name: str | None = None, email: str | None = None,
                                   is_active: bool | None = None) -> KeyPairList:
        ctx = ctx_of(info)
        r = ctx.requester
        query = keypair_service.select_keypairs(
            r, domain_name=domain_scope(r, domain_name) if domain_name else None, email=email, is_active=is_active)
        async with ctx.db.connect() as conn:
            page = await paginate(conn, query, limit=limit, offset=offset, filter_expr=filter, order_expr=order,
                                  fields=_FILTER_FIELDS, default_order=[keypairs.c.created_at, keypairs.c.access_key])
            return KeyPairList(items=await keypairs_from_rows(conn, list(page.rows)), total_count=page.total_count)


class KeyPairInput(graphene.InputObjectType):
    is_active = graphene.Boolean(required=False, default_value=True)
    is_admin = graphene.Boolean(required=False, default_value=False)
    resource_policy = graphene.String(required=True, default_value="default")
    concurrency_limit = graphene.Int(required=False)   # legacy; the resource policy decides
    rate_limit = graphene.Int(required=False)


class ModifyKeyPairInput(graphene.InputObjectType):
    is_active = graphene.Boolean(required=False)
    is_admin = graphene.Boolean(required=False)
    resource_policy = graphene.String(required=False)
    concurrency_limit = graphene.Int(required=False)
    rate_limit = graphene.Int(required=False)


class CreateKeyPair(graphene.Mutation):
    class Arguments:
        user_id = graphene.String(required=True)   # the owner's email
        props = KeyPairInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()
    keypair = graphene.Field(lambda: KeyPair, required=False)

    async def mutate(self, info: GraphQLResolveInfo, user_id: Any, props: Any) -> CreateKeyPair:
        requester = require_admin(info)

        async def work(conn: Any) -> dict[str, Any]:
            row = await keypair_service.create(conn, requester, str(user_id), dict(props))
            return {"keypair": (await keypairs_from_rows(conn, [row]))[0]}

        return await mutate(info, CreateKeyPair, work)


class ModifyKeyPair(graphene.Mutation):
    class Arguments:
        access_key = graphene.String(required=True)
        props = ModifyKeyPairInput(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, access_key: str, props: Any) -> ModifyKeyPair:
        requester = require_admin(info)
        return await mutate(info, ModifyKeyPair,
                            lambda conn: _discard(keypair_service.modify(conn, requester, access_key, dict(props))))


class DeleteKeyPair(graphene.Mutation):
    class Arguments:
        access_key = graphene.String(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, access_key: str) -> DeleteKeyPair:
        requester = require_admin(info)
        return await mutate(info, DeleteKeyPair, lambda conn: keypair_service.delete(conn, requester, access_key))


async def _discard(aw: Any) -> None:
    await aw


class KeyPairMutations:
    create_keypair = CreateKeyPair.Field()
    modify_keypair = ModifyKeyPair.Field()
    delete_keypair = DeleteKeyPair.Field()
