"""`mgr fixture populate`: load rows from a JSON file of {table name: [row, ...]}.

Rows go in dependency order in one transaction; rows that already exist (any primary-key or
unique conflict) are skipped, so populating twice changes nothing. Users' "password" values
are plaintext in the file and stored as bcrypt hashes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from dateutil.parser import isoparse
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.types import ResourceSlot

from ..errors import InvalidAPIParameters
from ..models import ResourceSlotColumn, metadata, users
from .auth import hash_password


def _convert(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(row) - set(table.c.keys())
    if unknown:
        raise InvalidAPIParameters(f"{table.name}: unknown columns {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in row.items():
        col = table.c[key]
        if value is None:
            out[key] = None
        elif isinstance(col.type, sa.Uuid):
            out[key] = uuid.UUID(str(value))
        elif isinstance(col.type, sa.DateTime):
            out[key] = isoparse(value) if isinstance(value, str) else value
        elif isinstance(col.type, ResourceSlotColumn):
            out[key] = ResourceSlot.from_user_input(value)
        else:
            out[key] = value
    if table is users and out.get("password"):
        out["password"] = hash_password(str(out["password"]))
    return out


async def populate(db: AsyncEngine, data: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Insert the fixture; returns {table: (inserted, skipped)}."""
    unknown = set(data) - set(metadata.tables)
    if unknown:
        raise InvalidAPIParameters(f"unknown tables in the fixture: {', '.join(sorted(unknown))}")
    for name, rows in data.items():
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise InvalidAPIParameters(f"{name}: expected a list of objects")
    counts: dict[str, tuple[int, int]] = {}
    async with db.begin() as conn:
        for table in metadata.sorted_tables:
            rows = data.get(table.name)
            if not rows:
                continue
            inserted = 0
            for row in rows:
                result = await conn.execute(insert(table).values(_convert(table, row)).on_conflict_do_nothing())
                inserted += result.rowcount or 0
            counts[table.name] = (inserted, len(rows) - inserted)
    return counts
