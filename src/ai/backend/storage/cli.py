"""`backend.ai storage ...`: run the storage proxy."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from ai.backend.common.config import ConfigError
from ai.backend.common.logging import setup_logging


@click.group()
def main() -> None:
    """The Backend.AI storage proxy."""


@main.command("start-server")
@click.option("-f", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="storage-proxy.toml (default: ./, ~/.config/backend.ai/, /etc/backend.ai/)")
@click.option("--debug", is_flag=True, help="Log at DEBUG level.")
def start_server(config_path: Path | None, debug: bool) -> None:
    """Serve the client and manager APIs over the configured volumes."""
    from . import config as cfgmod
    from .server import serve_forever
    from .volumes.abc import VolumeInitError

    try:
        config = cfgmod.load(config_path)
    except ConfigError as e:
        click.echo(f"storage-proxy: {e}", err=True)
        sys.exit(2)
    setup_logging(config["logging"], debug=debug or config["debug"]["enabled"], service="storage-proxy")
    try:
        if config["storage-proxy"]["event-loop"] == "uvloop":
            import uvloop

            uvloop.run(serve_forever(config))
        else:
            asyncio.run(serve_forever(config))
    except VolumeInitError as e:
        click.echo(f"storage-proxy: {e}", err=True)
        sys.exit(1)
    except (RuntimeError, OSError) as e:
        click.echo(f"storage-proxy: cannot start: {e}", err=True)
        sys.exit(1)
