"""Schema management: alembic upgrade/downgrade/stamp driven from async code, and the
one-shot schema creation `mgr schema oneshot` performs on an empty database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from . import metadata

SCRIPT_LOCATION = str(Path(__file__).parent / "alembic")


def alembic_config(url: str | None = None, ini_path: str | Path | None = None) -> Config:
    """An alembic Config pointing at our migration scripts (an ini file is optional)."""
    cfg = Config(str(ini_path)) if ini_path else Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migration history must have exactly one head, found {heads}")
    return heads[0]


def _run(conn: Connection, cmd: str, *args: Any) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    getattr(command, cmd)(cfg, *args)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", revision)


async def stamp(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "stamp", revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    def _current(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def schema_exists(engine: AsyncEngine) -> bool:
    """Whether our tables are there (any of them), stamped or not."""
    def _check(conn: Connection) -> bool:
        names = set(sa.inspect(conn).get_table_names())
        return bool(names & set(metadata.tables))

    async with engine.connect() as conn:
        return await conn.run_sync(_check)


async def oneshot(engine: AsyncEngine) -> bool:
    """Create every table and stamp the alembic head; False if the schema already exists."""
    if await schema_exists(engine):
        return False

    def _create(conn: Connection) -> None:
        metadata.create_all(conn)
        _run(conn, "stamp", "head")

    async with engine.begin() as conn:
        await conn.run_sync(_create)
    return True
