"""Project (group) lookups shared by REST handlers and GraphQL resolvers."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import Forbidden, ObjectNotFound
from ..models import association_groups_users, groups
from ..types import Owner


def _as_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def resolve(conn: AsyncConnection, domain_name: str, name_or_id: str | uuid.UUID) -> Any:
    """A project by UUID, or by name within the domain; ObjectNotFound otherwise."""
    gid = _as_uuid(name_or_id)
    query = sa.select(groups)
    if gid is not None:
        query = query.where(groups.c.id == gid)
    else:
        query = query.where((groups.c.name == str(name_or_id)) & (groups.c.domain_name == domain_name))
    row = (await conn.execute(query)).first()
    if row is None or row.domain_name != domain_name:
        raise ObjectNotFound(f"no project {name_or_id!r} in domain {domain_name!r}")
    return row


async def is_member(conn: AsyncConnection, user_uuid: uuid.UUID, group_id: uuid.UUID) -> bool:
    return bool((await conn.execute(
        sa.select(sa.func.count()).select_from(association_groups_users).where(
            (association_groups_users.c.user_id == user_uuid) & (association_groups_users.c.group_id == group_id)
        )
    )).scalar_one())


async def resolve_for_owner(conn: AsyncConnection, owner: Owner, name_or_id: str | uuid.UUID,
                            *, admin_override: bool = False) -> Any:
    """The owner's project; members only, unless the caller administers the domain."""
    row = await resolve(conn, owner.domain_name, name_or_id)
    if not admin_override and not await is_member(conn, owner.user_uuid, row.id):
        raise Forbidden(f"the user is not a member of project {row.name!r}")
    return row
