"""Resource groups: which ones a domain / project / keypair may use, and association changes."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import Conflict, InvalidAPIParameters, ObjectNotFound
from ..models import (
    agents,
    association_groups_users,
    domains,
    groups,
    keypairs,
    scaling_groups,
    sgroups_for_domains,
    sgroups_for_groups,
    sgroups_for_keypairs,
    users,
)
from ..scheduler.sequencers import SEQUENCERS
from ..types import Requester
from .common import integrity_as_conflict


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


# --- admin operations ---------------------------------------------------------------------------

def visible_condition(requester: Requester) -> sa.ColumnElement[bool]:
    """Superadmins see all; domain admins those linked to their domain or anything in it; users
    those they may use (their domain, their projects, their keypair)."""
    if requester.is_superadmin:
        return sa.true()
    name = scaling_groups.c.name
    cond: sa.ColumnElement[bool] = name.in_(sa.select(sgroups_for_domains.c.scaling_group)
                    .where(sgroups_for_domains.c.domain == requester.domain_name))
    if requester.is_admin:
        in_domain_groups = sa.select(groups.c.id).where(groups.c.domain_name == requester.domain_name)
        in_domain_keys = (sa.select(keypairs.c.access_key)
                          .select_from(keypairs.join(users, keypairs.c.user == users.c.uuid))
                          .where(users.c.domain_name == requester.domain_name))
    else:
        in_domain_groups = (sa.select(association_groups_users.c.group_id)
                            .where(association_groups_users.c.user_id == requester.user_uuid))
        in_domain_keys = sa.select(sa.literal(requester.access_key))
    cond = cond | name.in_(sa.select(sgroups_for_groups.c.scaling_group)
                           .where(sgroups_for_groups.c.group.in_(in_domain_groups)))
    cond = cond | name.in_(sa.select(sgroups_for_keypairs.c.scaling_group)
                           .where(sgroups_for_keypairs.c.access_key.in_(in_domain_keys)))
    return cond


def select_scaling_groups(requester: Requester, *, name: str | None = None, is_active: bool | None = None,
                          association: tuple[str, Any] | None = None) -> sa.Select[Any]:
    query = sa.select(scaling_groups).where(visible_condition(requester))
    if name is not None:
        query = query.where(scaling_groups.c.name == name)
    if is_active is not None:
        query = query.where(scaling_groups.c.is_active == is_active)
    if association is not None:
        kind, target = association
        table, col = _ASSOCIATIONS[kind]
        query = query.where(scaling_groups.c.name.in_(sa.select(table.c.scaling_group).where(col == target)))
    return query.order_by(scaling_groups.c.name)


def check_scheduler(name: str) -> str:
    if name.lower() not in SEQUENCERS:
        raise InvalidAPIParameters(f"unknown scheduler {name!r} (choose from {', '.join(SEQUENCERS)})")
    return name.lower()


async def create(conn: AsyncConnection, name: str, values: dict[str, Any]) -> Any:
    if "scheduler" in values:
        values["scheduler"] = check_scheduler(values["scheduler"])
    async with integrity_as_conflict(f"scaling group {name!r}"):
        return (await conn.execute(
            sa.insert(scaling_groups).values(name=name, **values).returning(scaling_groups))).first()


async def modify(conn: AsyncConnection, name: str, values: dict[str, Any]) -> Any:
    if "scheduler" in values:
        values["scheduler"] = check_scheduler(values["scheduler"])
    if not values:
        row = await get(conn, name)
    else:
        async with integrity_as_conflict(f"scaling group {name!r}"):
            row = (await conn.execute(sa.update(scaling_groups).where(scaling_groups.c.name == name)
                                      .values(**values).returning(scaling_groups))).first()
    if row is None:
        raise ObjectNotFound(object_name="scaling group")
    return row


async def delete(conn: AsyncConnection, name: str) -> None:
    if await get(conn, name) is None:
        raise ObjectNotFound(object_name="scaling group")
    n = (await conn.execute(sa.select(sa.func.count()).select_from(agents)
                            .where(agents.c.scaling_group == name))).scalar_one()
    if n:
        raise Conflict(f"scaling group {name!r} still has {n} agents")
    async with integrity_as_conflict(f"scaling group {name!r} is still in use"):
        await conn.execute(sa.delete(scaling_groups).where(scaling_groups.c.name == name))


async def check_target_exists(conn: AsyncConnection, kind: str, target: Any) -> None:
    table, col = {"domain": (domains, domains.c.name), "group": (groups, groups.c.id),
                  "keypair": (keypairs, keypairs.c.access_key)}[kind]
    if (await conn.execute(sa.select(col).where(col == target))).first() is None:
        raise ObjectNotFound(object_name={"group": "project"}.get(kind, kind))
