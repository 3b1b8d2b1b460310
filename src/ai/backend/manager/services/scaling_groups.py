"""Resource groups: which ones a domain / project / keypair may use, and association changes."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import scaling_groups, sgroups_for_domains, sgroups_for_groups, sgroups_for_keypairs


async def allowed_names(conn: AsyncConnection, *, domain_name: str, group_id: uuid.UUID | None,
                        access_key: str | None, include_inactive: bool = False) -> list[str]:
    """Resource groups associated with the domain, the project or the keypair (their union)."""
    sources = [sa.select(sgroups_for_domains.c.scaling_group.label("name"))
               .where(sgroups_for_domains.c.domain == domain_name)]
    if group_id is not None:
        sources.append(sa.select(sgroups_for_groups.c.scaling_group.label("name"))
                       .where(sgroups_for_groups.c.group == group_id))
    if access_key is not None:
        sources.append(sa.select(sgroups_for_keypairs.c.scaling_group.label("name"))
                       .where(sgroups_for_keypairs.c.access_key == access_key))
    union = sa.union(*sources).subquery()
    query = sa.select(scaling_groups.c.name).where(scaling_groups.c.name.in_(sa.select(union.c.name)))
    if not include_inactive:
        query = query.where(scaling_groups.c.is_active)
    return list((await conn.execute(query.order_by(scaling_groups.c.name))).scalars())


async def get(conn: AsyncConnection, name: str) -> Any:
    return (await conn.execute(sa.select(scaling_groups).where(scaling_groups.c.name == name))).first()


_ASSOCIATIONS: dict[str, tuple[sa.Table, sa.Column[Any]]] = {
    "domain": (sgroups_for_domains, sgroups_for_domains.c.domain),
    "group": (sgroups_for_groups, sgroups_for_groups.c.group),
    "keypair": (sgroups_for_keypairs, sgroups_for_keypairs.c.access_key),
}


async def associate(conn: AsyncConnection, kind: str, scaling_group: str, target: Any) -> bool:
    """Link a resource group to a domain / project / keypair; False if already linked."""
    table, col = _ASSOCIATIONS[kind]
    result = await conn.execute(
        insert(table).values({"scaling_group": scaling_group, col.name: target}).on_conflict_do_nothing()
    )
    return bool(result.rowcount)


async def disassociate(conn: AsyncConnection, kind: str, scaling_group: str | None, target: Any) -> int:
    """Unlink one (or, with scaling_group=None, every) resource group; returns how many."""
    table, col = _ASSOCIATIONS[kind]
    where = col == target
    if scaling_group is not None:
        where = where & (table.c.scaling_group == scaling_group)
    return int((await conn.execute(sa.delete(table).where(where))).rowcount)


async def associated_names(conn: AsyncConnection, kind: str, target: Any) -> list[str]:
    """Resource groups directly associated with one domain / project / keypair."""
    table, col = _ASSOCIATIONS[kind]
    return list((await conn.execute(
        sa.select(table.c.scaling_group).where(col == target).order_by(table.c.scaling_group)
    )).scalars())
