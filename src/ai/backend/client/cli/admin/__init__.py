"""`backend.ai admin ...`: administration commands (GraphQL under the hood)."""

from __future__ import annotations

import click


@click.group()
def admin() -> None:
    """Administrative command set."""


def _register() -> None:
    from . import listings, sessions  # noqa: F401  (the modules add their commands to `admin`)


_register()
