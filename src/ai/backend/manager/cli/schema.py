"""`mgr schema`: create, migrate and inspect the database schema."""

from __future__ import annotations

import click

from ..models import migration
from .context import CLIContext, pass_ctx, run


@click.group()
def schema() -> None:
    """Database schema management."""


@schema.command()
@pass_ctx
def oneshot(cli: CLIContext) -> None:
    """Create every table in an empty database and stamp the alembic head."""
    async def _go() -> bool:
        async with cli.db() as engine:
            return await migration.oneshot(engine)

    if run(_go()):
        click.echo(f"created the schema and stamped revision {migration.head_revision()}")
    else:
        click.echo("the schema already exists; use `mgr schema upgrade` to migrate it")


@schema.command()
@click.argument("revision", default="head")
@pass_ctx
def upgrade(cli: CLIContext, revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    async def _go() -> str | None:
        async with cli.db() as engine:
            await migration.upgrade(engine, revision)
            return await migration.current_revision(engine)

    click.echo(f"at revision {run(_go())}")


@schema.command()
@click.argument("revision")
@pass_ctx
def downgrade(cli: CLIContext, revision: str) -> None:
    """Revert migrations down to REVISION ("base" drops everything)."""
    async def _go() -> str | None:
        async with cli.db() as engine:
            await migration.downgrade(engine, revision)
            return await migration.current_revision(engine)

    click.echo(f"at revision {run(_go())}")


@schema.command()
@pass_ctx
def show(cli: CLIContext) -> None:
    """Print the current and the head revision."""
    async def _go() -> tuple[str | None, bool]:
        async with cli.db() as engine:
            return await migration.current_revision(engine), await migration.schema_exists(engine)

    current, exists = run(_go())
    click.echo(f"current: {current or ('(unstamped tables)' if exists else '(empty database)')}")
    click.echo(f"head: {migration.head_revision()}")
