"""Resource policies (keypair, user, project) and resource presets: plain CRUD by name.
Changing them is for superadmins (checked by callers)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import ObjectNotFound
from .common import integrity_as_conflict


async def get(conn: AsyncConnection, table: sa.Table, name: str) -> Any:
    row = (await conn.execute(sa.select(table).where(table.c.name == name))).first()
    if row is None:
        raise ObjectNotFound(f"no {_what(table)} named {name!r}")
    return row


async def list_all(conn: AsyncConnection, table: sa.Table) -> list[Any]:
    return list((await conn.execute(sa.select(table).order_by(table.c.name))).all())


async def create(conn: AsyncConnection, table: sa.Table, name: str, values: dict[str, Any]) -> Any:
    async with integrity_as_conflict(f"{_what(table)} {name!r}"):
        return (await conn.execute(sa.insert(table).values(name=name, **values).returning(table))).first()


async def modify(conn: AsyncConnection, table: sa.Table, name: str, values: dict[str, Any],
                 *, where: sa.ColumnElement[bool] | None = None) -> Any:
    cond = table.c.name == name if where is None else where
    if not values:
        row = (await conn.execute(sa.select(table).where(cond))).first()
    else:
        async with integrity_as_conflict(f"{_what(table)} {name!r}"):
            row = (await conn.execute(sa.update(table).where(cond).values(**values).returning(table))).first()
    if row is None:
        raise ObjectNotFound(f"no {_what(table)} named {name!r}")
    return row


async def delete(conn: AsyncConnection, table: sa.Table, name: str,
                 *, where: sa.ColumnElement[bool] | None = None) -> None:
    cond = table.c.name == name if where is None else where
    async with integrity_as_conflict(f"{_what(table)} {name!r} is still in use"):
        result = await conn.execute(sa.delete(table).where(cond))
    if result.rowcount == 0:
        raise ObjectNotFound(f"no {_what(table)} named {name!r}")


def _what(table: sa.Table) -> str:
    return table.name.rstrip("s").replace("_", " ").replace("policie", "policy")
