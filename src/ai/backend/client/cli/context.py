"""Opening an SDK session for a command and turning its failures into exit codes.

Every command body runs inside `client_session()`: API errors (problem+json), connection
errors and bad local input end the process with one clear line on stderr and a non-zero
status, never with a traceback.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from .pretty import print_error


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1             # the server refused or the request failed
    INVALID_USAGE = 2       # click's usage errors
    OPERATION_TIMEOUT = 3
    INVALID_ARGUMENT = 4    # well-formed but unusable arguments


def _apply_root_options() -> None:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get("client.skip_sslcert_validation"):
        os.environ["BACKEND_SKIP_SSLCERT_VALIDATION"] = "1"


@contextmanager
def client_session() -> Iterator[Any]:
    """A synchronous SDK `Session`; any error ends the command with exit status 1."""
    _apply_root_options()
    from ai.backend.client.session import Session

    try:
        with Session() as session:
            yield session
    except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
        raise
    except Exception as e:
        print_error(e)
        sys.exit(ExitCode.FAILURE)


@contextmanager
def handle_errors() -> Iterator[None]:
    """The same error policy for code that manages its own (async) session."""
    try:
        yield
    except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
        raise
    except Exception as e:
        print_error(e)
        sys.exit(ExitCode.FAILURE)
