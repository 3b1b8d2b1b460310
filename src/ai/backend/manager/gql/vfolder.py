"""VirtualFolder: `vfolder`, `vfolder_list` and the own / invited / project lists the CLI pages.

What a caller sees: superadmins every vfolder (optionally of one domain), domain admins those
of their domain (users' and projects'), users the vfolders they reach (own, shared with them,
their projects'). `permission` is the vfolder's innate permission.
"""

from __future__ import annotations

import uuid
from typing import Any

import graphene
import sqlalchemy as sa
from graphql import GraphQLResolveInfo

from ..models import VFolderOwnershipType, groups, vfolders
from ..services.vfolder_access import (
    OWNER,
    VP,
    Accessor,
    member_groups,
    quota_scope_of,
    reach_condition,
    vfolder_select,
)
from .base import ctx_of, domain_scope, enum_value, paginate, paginated_list_args
from .group import as_uuid

_FIELDS: dict[str, Any] = {
    "id": vfolders.c.id, "host": vfolders.c.host, "quota_scope_id": vfolders.c.quota_scope_id,
    "name": vfolders.c.name, "user": vfolders.c.user, "group": vfolders.c.group,
    "user_email": OWNER.c.email, "creator": vfolders.c.creator, "unmanaged_path": vfolders.c.unmanaged_path,
    "usage_mode": vfolders.c.usage_mode, "permission": vfolders.c.permission,
    "ownership_type": vfolders.c.ownership_type, "max_files": vfolders.c.max_files,
    "max_size": vfolders.c.max_size, "created_at": vfolders.c.created_at, "last_used": vfolders.c.last_used,
    "num_files": vfolders.c.num_files, "cur_size": vfolders.c.cur_size, "cloneable": vfolders.c.cloneable,
    "status": vfolders.c.status,
}


class VirtualFolder(graphene.ObjectType):
    id = graphene.UUID()
    host = graphene.String()
    quota_scope_id = graphene.String()
    name = graphene.String()
    user = graphene.UUID()
    user_email = graphene.String()
    group = graphene.UUID()
    group_name = graphene.String()
    creator = graphene.String()
    domain_name = graphene.String()
    unmanaged_path = graphene.String()
    usage_mode = graphene.String()
    permission = graphene.String()
    ownership_type = graphene.String()
    max_files = graphene.Int()
    max_size = graphene.BigInt()
    created_at = graphene.DateTime()
    last_used = graphene.DateTime()
    num_files = graphene.Int()
    cur_size = graphene.BigInt()
    cloneable = graphene.Boolean()
    status = graphene.String()

    @classmethod
    def from_row(cls, row: Any) -> VirtualFolder:
        return cls(
            id=row.id, host=row.host, quota_scope_id=str(quota_scope_of(row)), name=row.name, user=row.user,
            user_email=row.owner_email, group=row.group, group_name=row.group_name, creator=row.creator,
            domain_name=row.group_domain or row.owner_domain, unmanaged_path=row.unmanaged_path,
            usage_mode=enum_value(row.usage_mode), permission=enum_value(row.permission),
            ownership_type=enum_value(row.ownership_type), max_files=row.max_files, max_size=row.max_size,
            created_at=row.created_at, last_used=row.last_used, num_files=row.num_files,
            cur_size=row.cur_size, cloneable=row.cloneable, status=enum_value(row.status),
        )


class VirtualFolderList(graphene.ObjectType):
    items = graphene.List(VirtualFolder, required=True)
    total_count = graphene.Int(required=True)


def _base(acc: Accessor) -> sa.Select[Any]:
    return vfolder_select(acc.user_uuid).add_columns(OWNER.c.domain_name.label("owner_domain"))


def _visible(info: GraphQLResolveInfo, domain_name: str | None) -> sa.Select[Any]:
    r = ctx_of(info).requester
    acc = Accessor.of(r)
    query = _base(acc)
    if not acc.is_admin:
        return query.where(reach_condition(acc, with_admin=False))
    domain = domain_scope(r, domain_name)    # superadmins: None (all) unless they name one
    if domain is not None:
        query = query.where((OWNER.c.domain_name == domain) | (groups.c.domain_name == domain))
    return query


async def _page(info: GraphQLResolveInfo, query: sa.Select[Any], limit: int, offset: int,
                filter: str | None, order: str | None) -> VirtualFolderList:
    async with ctx_of(info).db.connect() as conn:
        page = await paginate(conn, query, limit=limit, offset=offset, filter_expr=filter, order_expr=order,
                              fields=_FIELDS, default_order=[vfolders.c.created_at.desc(), vfolders.c.id])
    return VirtualFolderList(items=[VirtualFolder.from_row(r) for r in page.rows], total_count=page.total_count)


def _acc(info: GraphQLResolveInfo) -> Accessor:
    return Accessor.of(ctx_of(info).requester)


class VFolderQueries:
    vfolder = graphene.Field(VirtualFolder, id=graphene.String(required=True))
    vfolder_list = graphene.Field(VirtualFolderList, **paginated_list_args(
        domain_name=graphene.String(), group_id=graphene.UUID(), access_key=graphene.String()))
    vfolder_own_list = graphene.Field(VirtualFolderList, **paginated_list_args(
        domain_name=graphene.String(), access_key=graphene.String()))
    vfolder_invited_list = graphene.Field(VirtualFolderList, **paginated_list_args(
        domain_name=graphene.String(), access_key=graphene.String()))
    vfolder_project_list = graphene.Field(VirtualFolderList, **paginated_list_args(
        domain_name=graphene.String(), access_key=graphene.String()))

    async def resolve_vfolder(self, info: GraphQLResolveInfo, id: str) -> VirtualFolder | None:
        query = _visible(info, None).where(vfolders.c.id == as_uuid(id))
        async with ctx_of(info).db.connect() as conn:
            row = (await conn.execute(query)).first()
        return VirtualFolder.from_row(row) if row else None

    async def resolve_vfolder_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                   filter: str | None = None, order: str | None = None,
                                   domain_name: str | None = None, group_id: uuid.UUID | None = None,
                                   access_key: str | None = None) -> VirtualFolderList:
        query = _visible(info, domain_name)
        if group_id is not None:
            query = query.where(vfolders.c.group == as_uuid(group_id, "group_id"))
        return await _page(info, query, limit, offset, filter, order)

    async def resolve_vfolder_own_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                       filter: str | None = None, order: str | None = None,
                                       **_: Any) -> VirtualFolderList:
        acc = _acc(info)
        return await _page(info, _base(acc).where(vfolders.c.user == acc.user_uuid), limit, offset, filter, order)

    async def resolve_vfolder_invited_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                           filter: str | None = None, order: str | None = None,
                                           **_: Any) -> VirtualFolderList:
        acc = _acc(info)
        query = _base(acc).where(VP.c.id.is_not(None) & (vfolders.c.ownership_type == VFolderOwnershipType.USER))
        return await _page(info, query, limit, offset, filter, order)

    async def resolve_vfolder_project_list(self, info: GraphQLResolveInfo, limit: int, offset: int,
                                           filter: str | None = None, order: str | None = None,
                                           **_: Any) -> VirtualFolderList:
        acc = _acc(info)
        query = _base(acc).where(vfolders.c.group.in_(member_groups(acc.user_uuid)))
        return await _page(info, query, limit, offset, filter, order)
