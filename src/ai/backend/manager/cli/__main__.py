"""`backend.ai mgr`: run the manager and administer its database, etcd and images."""

from __future__ import annotations

import click

from .context import CLIContext
from .dbshell import clear_history, dbshell
from .etcd import etcd
from .fixture import fixture
from .image import image
from .schema import schema
from .server import start_server


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-f", "--config-path", "--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="manager.toml to use (default: ./manager.toml, ~/.config/backend.ai/, /etc/backend.ai/).")
@click.option("--debug", is_flag=True, help="Verbose logging.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """Backend.AI manager tools."""
    ctx.obj = CLIContext(config_path, debug)


main.add_command(start_server)
main.add_command(schema)
main.add_command(fixture)
main.add_command(etcd)
main.add_command(image)
main.add_command(dbshell)
main.add_command(clear_history)


if __name__ == "__main__":
    main(prog_name="backend.ai mgr")
