"""Domains: create, change, deactivate and purge (superadmins only, checked by callers)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import Conflict, ObjectNotFound
from ..models import domains, groups, kernels, users
from ..types import Requester
from .common import integrity_as_conflict


def select_domains(requester: Requester, *, name: str | None = None, is_active: bool | None = None) -> sa.Select[Any]:
    query = sa.select(domains)
    if not requester.is_superadmin:
        query = query.where(domains.c.name == requester.domain_name)
    if name is not None:
        query = query.where(domains.c.name == name)
    if is_active is not None:
        query = query.where(domains.c.is_active == is_active)
    return query.order_by(domains.c.name)


async def create(conn: AsyncConnection, name: str, values: dict[str, Any]) -> Any:
    async with integrity_as_conflict(f"domain {name!r}"):
        return (await conn.execute(
            sa.insert(domains).values(name=name, **values).returning(domains)
        )).first()


async def modify(conn: AsyncConnection, name: str, values: dict[str, Any]) -> Any:
    if not values:
        return await get(conn, name)
    async with integrity_as_conflict(f"domain {name!r}"):
        row = (await conn.execute(
            sa.update(domains).where(domains.c.name == name).values(**values).returning(domains)
        )).first()
    if row is None:
        raise ObjectNotFound(object_name="domain")
    return row


async def get(conn: AsyncConnection, name: str) -> Any:
    row = (await conn.execute(sa.select(domains).where(domains.c.name == name))).first()
    if row is None:
        raise ObjectNotFound(object_name="domain")
    return row


async def deactivate(conn: AsyncConnection, name: str) -> None:
    await modify(conn, name, {"is_active": False})


async def purge(conn: AsyncConnection, name: str) -> None:
    """Delete a domain that no longer has users, projects or kernels."""
    await get(conn, name)
    for table, col, what in ((users, users.c.domain_name, "users"), (groups, groups.c.domain_name, "projects"),
                             (kernels, kernels.c.domain_name, "kernels")):
        n = (await conn.execute(sa.select(sa.func.count()).select_from(table).where(col == name))).scalar_one()
        if n:
            raise Conflict(f"domain {name!r} still has {n} {what}; remove them first")
    await conn.execute(sa.delete(domains).where(domains.c.name == name))
