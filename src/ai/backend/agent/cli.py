"""`backend.ai ag ...`: run the agent, or a fleet of simulated agents in one process."""

from __future__ import annotations

import sys

import click

from ai.backend.common.config import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Backend.AI agent commands."""


def _load(config_path: str | None, overrides: dict | None = None) -> dict:
    from .config import load_agent_config

    try:
        return load_agent_config(config_path, overrides)
    except ConfigError as e:
        click.echo(f"agent configuration error: {e}", err=True)
        sys.exit(2)


@main.command("start-server")
@click.option("-f", "--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="agent.toml (default: ./agent.toml, ~/.config/backend.ai/agent.toml, /etc/backend.ai/agent.toml)")
@click.option("--debug", is_flag=True, help="verbose logging")
def start_server(config_path: str | None, debug: bool) -> None:
    """Run the agent (Docker or dummy backend, as [agent] mode says)."""
    from .server import run

    run(_load(config_path), debug=debug)


@main.command("dummy-fleet")
@click.option("-f", "--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="agent.toml used as the template for every simulated agent")
@click.option("-n", "--count", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--id-prefix", default="dummy-", show_default=True, help="agent ids are PREFIX0001, PREFIX0002, ...")
@click.option("--base-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="RPC ports base-port+1 ... (0: ephemeral ports)")
@click.option("--debug", is_flag=True)
def dummy_fleet(config_path: str | None, count: int, id_prefix: str, base_port: int, debug: bool) -> None:
    """Run COUNT simulated agents (no Docker) in this process, for scheduler tests and benchmarks."""
    from .dummy.fleet import run_fleet

    run_fleet(_load(config_path, {"agent.mode": "dummy"}), count=count, id_prefix=id_prefix,
              base_port=base_port, debug=debug)
