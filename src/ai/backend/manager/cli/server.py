"""`mgr start-server`."""

from __future__ import annotations

import sys

import click

from .context import CLIContext, pass_ctx


@click.command("start-server")
@click.option("-f", "--config-path", "--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="manager.toml to use (overrides the group option).")
@click.option("--debug", is_flag=True, help="Verbose logging and access logs.")
@pass_ctx
def start_server(cli: CLIContext, config_path: str | None, debug: bool) -> None:
    """Run the manager (num-proc worker processes sharing service-addr)."""
    from ..server import run_server

    if config_path is not None:
        cli.config_path = config_path
    cli.debug = cli.debug or debug
    cfg = cli.local_config
    if cli.debug:
        cfg["debug"]["enabled"] = True
    sys.exit(run_server(cfg))
