"""`backend.ai`: server tools (mgr, ag, storage) and the client commands in one command."""

from __future__ import annotations

import click

from .loader import LazyGroup


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        "mgr": "ai.backend.manager.cli.__main__:main",
        "ag": "ai.backend.agent.cli:main",
        "storage": "ai.backend.storage.cli:main",
    },
    merged_groups=["ai.backend.client.cli.main:main"],
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--output", type=click.Choice(["console", "json"]), default="console",
              help="(client option) Output style of the command results.")
@click.option("--skip-sslcert-validation", is_flag=True,
              help="(client option) Skip SSL certificate validation for all API requests.")
@click.pass_context
def main(ctx: click.Context, output: str, skip_sslcert_validation: bool) -> None:
    """Backend.AI command line: run `backend.ai COMMAND --help` for details."""
    # ctx.meta is shared with every subcommand's context (the client commands read these)
    ctx.meta["client.output"] = output
    ctx.meta["client.skip_sslcert_validation"] = skip_sslcert_validation


if __name__ == "__main__":
    main(prog_name="backend.ai")
