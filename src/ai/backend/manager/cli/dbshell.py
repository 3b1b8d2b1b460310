"""`mgr dbshell` and `mgr clear-history`."""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta

import click
import sqlalchemy as sa

from ai.backend.common.status import TERMINAL_STATUSES

from ..models import kernels, session_dependencies, sessions
from .context import CLIContext, pass_ctx, run


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def dbshell(cli: CLIContext, psql_args: tuple[str, ...]) -> None:
    """Open psql on the manager database (extra arguments go to psql)."""
    db = cli.local_config["db"]
    psql = shutil.which("psql")
    if psql is None:
        raise click.ClickException("psql is not installed (apt-get install postgresql-client)")
    env = dict(os.environ, PGPASSWORD=db["password"] or "")
    args = [psql, "-h", db["addr"].host, "-p", str(db["addr"].port), "-U", db["user"], db["name"], *psql_args]
    os.execve(psql, args, env)


_RETENTION_RE = re.compile(r"^(\d+)([dhm]?)$")


def parse_retention(value: str) -> timedelta:
    m = _RETENTION_RE.match(value.strip())
    if m is None:
        raise click.BadParameter("use a number of days, or NNd / NNh / NNm")
    n, unit = int(m.group(1)), m.group(2) or "d"
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]


@click.command("clear-history")
@click.option("-r", "--retention", default="30d", show_default=True,
              help="Keep sessions that ended within this period (e.g. 30d, 12h).")
@pass_ctx
def clear_history(cli: CLIContext, retention: str) -> None:
    """Delete finished sessions (and their kernels) that ended before the retention period."""
    cutoff = datetime.now(UTC) - parse_retention(retention)

    async def _go() -> int:
        old = sa.select(sessions.c.id).where(
            sessions.c.status.in_(list(TERMINAL_STATUSES)) & (sessions.c.terminated_at < cutoff))
        async with cli.db() as engine, engine.begin() as conn:
            await conn.execute(sa.delete(session_dependencies).where(
                session_dependencies.c.session_id.in_(old) | session_dependencies.c.depends_on.in_(old)))
            await conn.execute(sa.delete(kernels).where(kernels.c.session_id.in_(old)))
            return int((await conn.execute(sa.delete(sessions).where(sessions.c.id.in_(old)))).rowcount)

    click.echo(f"deleted {run(_go())} sessions that ended before {cutoff.isoformat()}")
