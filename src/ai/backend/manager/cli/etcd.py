"""`mgr etcd`: read and write the cluster configuration in etcd."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..services import etcd_config
from .context import CLIContext, pass_ctx, run


@click.group()
def etcd() -> None:
    """Raw access to the etcd keys under /sorna/{namespace}/."""


@etcd.command()
@click.argument("key")
@click.option("--prefix", is_flag=True, help="Read the whole subtree as JSON.")
@pass_ctx
def get(cli: CLIContext, key: str, prefix: bool) -> None:
    """Print a value (or, with --prefix, a JSON object of everything under KEY)."""
    async def _go() -> Any:
        async with cli.etcd() as client:
            return await etcd_config.get(client, key, prefix)

    value = run(_go())
    if prefix:
        click.echo(json.dumps(value, indent=2, sort_keys=True))
    elif value is None:
        click.echo(f"no such key: {key}", err=True)
        sys.exit(1)
    else:
        click.echo(value)


@etcd.command()
@click.argument("key")
@click.argument("value")
@pass_ctx
def put(cli: CLIContext, key: str, value: str) -> None:
    """Set KEY to VALUE."""
    async def _go() -> None:
        async with cli.etcd() as client:
            await etcd_config.put(client, key, value)

    run(_go())


@etcd.command("put-json")
@click.argument("key")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@pass_ctx
def put_json(cli: CLIContext, key: str, path: str) -> None:
    """Store the JSON object in PATH ("-": stdin) as the subtree under KEY."""
    raw = sys.stdin.read() if path == "-" else Path(path).read_text()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise click.ClickException(f"invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise click.ClickException("the JSON must be an object")

    async def _go() -> None:
        async with cli.etcd() as client:
            await etcd_config.put(client, key, data)

    run(_go())


@etcd.command()
@click.argument("key")
@click.option("--prefix", is_flag=True, help="Delete KEY and everything under it.")
@pass_ctx
def delete(cli: CLIContext, key: str, prefix: bool) -> None:
    """Delete KEY (or its subtree)."""
    async def _go() -> None:
        async with cli.etcd() as client:
            await etcd_config.delete(client, key, prefix)

    run(_go())
