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
def main() -> None:
    """Backend.AI command line: run `backend.ai COMMAND --help` for details."""


if __name__ == "__main__":
    main(prog_name="backend.ai")
