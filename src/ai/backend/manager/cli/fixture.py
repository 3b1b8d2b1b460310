"""`mgr fixture populate FILE.json`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..services import fixtures
from .context import CLIContext, pass_ctx, run


@click.group()
def fixture() -> None:
    """Load example or initial data."""


@fixture.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def populate(cli: CLIContext, path: Path) -> None:
    """Insert the rows of a {table: [row, ...]} JSON file; existing rows are skipped."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise click.ClickException(f"{path}: invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected an object of table names")

    async def _go() -> dict[str, tuple[int, int]]:
        async with cli.db() as engine:
            return await fixtures.populate(engine, data)

    for table, (inserted, skipped) in run(_go()).items():
        click.echo(f"{table}: {inserted} inserted, {skipped} already present")
