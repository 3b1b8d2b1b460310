"""Alembic environment for the manager schema.

Runs on a connection handed over in `config.attributes["connection"]` (how the manager's own
commands and tests call it from async code), or opens its own asyncpg engine from
`sqlalchemy.url` (how `alembic -c alembic.ini ...` runs it).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from ai.backend.manager.models import metadata
from ai.backend.manager.models.dbutils import create_engine

config = context.config
target_metadata = metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our column TypeDecorators as their plain SQL types, so migrations never import
    model code that may change later."""
    if type_ == "type" and isinstance(obj, sa.TypeDecorator):
        impl = obj.impl if isinstance(obj.impl, sa.types.TypeEngine) else obj.impl()
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        if isinstance(impl, sa.String):
            return f"sa.String(length={impl.length})"
        return "postgresql.JSONB(astext_type=sa.Text())"
    return False


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_configure_and_run)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif (conn := config.attributes.get("connection")) is not None:
    _configure_and_run(conn)
else:
    asyncio.run(_run_with_own_engine())
