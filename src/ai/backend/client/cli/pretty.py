"""Status lines for humans: one line each on stderr, prefixed with a status mark.

Errors are reduced to a single line (the server's problem+json title and message, or the
local exception's text), so scripts can grep them and people can read them.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

MARKS = {"info": ("\u2219", "bright_cyan"), "wait": ("\u22ef", "bright_yellow"),
         "done": ("\u2713", "bright_green"), "fail": ("\u2717", "bright_red"),
         "warn": ("\u2219", "yellow")}


def _emit(kind: str, msg: str) -> None:
    mark, color = MARKS[kind]
    click.echo(click.style(mark, fg=color) + " " + msg, file=sys.stderr)


def print_info(msg: str) -> None:
    _emit("info", msg)


def print_wait(msg: str) -> None:
    _emit("wait", msg)


def print_done(msg: str) -> None:
    _emit("done", msg)


def print_warn(msg: str) -> None:
    _emit("warn", msg)


def print_fail(msg: str) -> None:
    _emit("fail", msg)


def format_error(exc: BaseException) -> str:
    """One line describing `exc`; API errors show status, title and the server's message."""
    status = getattr(exc, "status", None)
    data: Any = getattr(exc, "data", None)
    if isinstance(status, int) and status >= 400:
        parts: list[str] = []
        if isinstance(data, dict):
            title, msg = data.get("title"), data.get("msg")
            if title:
                parts.append(str(title))
            if msg and msg != title:
                parts.append(str(msg))
            detail = data.get("data")
            if isinstance(detail, dict) and detail and not msg:
                parts.append(", ".join(f"{k}: {v}" for k, v in detail.items()))
            elif isinstance(detail, list) and detail and not msg:   # GraphQL errors
                parts.append("; ".join(str(d.get("message", d)) if isinstance(d, dict) else str(d)
                                       for d in detail))
        elif data:
            parts.append(str(data))
        reason = getattr(exc, "reason", "") or ""
        text = ": ".join(parts) if parts else reason
        return f"{text} (HTTP {status})".replace("\n", " ")
    text = str(exc) or type(exc).__name__
    if type(exc).__name__ not in text and not isinstance(exc, click.ClickException):
        text = f"{type(exc).__name__}: {text}"
    return text.replace("\n", " ")


def print_error(exc: BaseException) -> None:
    _emit("fail", format_error(exc))


def fail(msg: str, code: int = 1) -> NoReturn:
    print_fail(msg)
    sys.exit(code)
