"""The schema's migration history on a real PostgreSQL: one head, a full round trip, and
agreement between the migrations, the table definitions and `mgr schema oneshot`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ai.backend.manager.models import metadata, migration
from ai.backend.manager.models.dbutils import create_engine
from manager.helpers import subprocess_env


async def _tables(engine: Any) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def _diff(engine: Any) -> list[Any]:
    def compare(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


def test_single_head() -> None:
    script = ScriptDirectory.from_config(migration.alembic_config())
    assert len(script.get_heads()) == 1
    assert migration.head_revision() == script.get_current_head()


async def test_upgrade_downgrade_upgrade_round_trip(async_database_url: str) -> None:
    engine = create_engine(async_database_url, pool_size=1, max_overflow=0)
    try:
        assert await _tables(engine) == set()
        await migration.upgrade(engine)
        assert await migration.current_revision(engine) == migration.head_revision()
        assert set(metadata.tables) <= await _tables(engine)
        assert await _diff(engine) == [], "the migrations must build exactly the declared tables"

        await migration.downgrade(engine, "base")
        assert await migration.current_revision(engine) is None
        assert await _tables(engine) <= {"alembic_version"}

        await migration.upgrade(engine, "head")
        assert await migration.current_revision(engine) == migration.head_revision()
        assert await _diff(engine) == []
    finally:
        await engine.dispose()


async def test_oneshot_matches_the_migrations(async_database_url: str) -> None:
    engine = create_engine(async_database_url, pool_size=1, max_overflow=0)
    try:
        assert await migration.oneshot(engine) is True
        assert await migration.current_revision(engine) == migration.head_revision()
        assert await _diff(engine) == []
        assert await migration.oneshot(engine) is False  # never twice
        # and a oneshot schema can still be downgraded by the migration history
        await migration.downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
    finally:
        await engine.dispose()


def test_alembic_command_line(database_url: str, tmp_path: Path) -> None:
    """`alembic -c alembic.ini` runs env.py with its own engine (no connection handed in)."""
    ini = tmp_path / "alembic.ini"
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    ini.write_text(f"[alembic]\nscript_location = ai.backend.manager.models:alembic\nsqlalchemy.url = {url}\n")

    def alembic(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), *args],
                              capture_output=True, text=True, timeout=120, env=subprocess_env())
        assert proc.returncode == 0, proc.stderr
        return proc.stdout + proc.stderr

    alembic("upgrade", "head")
    assert migration.head_revision() in alembic("current")
    alembic("downgrade", "base")
    assert migration.head_revision() not in alembic("current")
