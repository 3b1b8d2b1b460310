"""Listing compute sessions (`ps`, `session list`, `admin session list`) and showing one
(`info`, `session info`, `admin session info`)."""

from __future__ import annotations

import sys
import uuid
from typing import Any

import click

from ..context import ExitCode, client_session
from ..output import Field, print_item, print_list, selection
from ..pretty import print_fail
from . import admin
from . import fields as F
from .gql import fetch_pages

ACTIVE = ["PENDING", "SCHEDULED", "PULLING", "PREPARING", "RUNNING", "RUNNING_DEGRADED",
          "TERMINATING", "ERROR"]
ALL = ["PENDING", "SCHEDULED", "PULLING", "PREPARING", "RUNNING", "RESTARTING", "RUNNING_DEGRADED",
       "TERMINATING", "TERMINATED", "ERROR", "CANCELLED"]


def _status_filter(status: str | None, running: bool, dead: bool, all_: bool) -> tuple[str, str]:
    """(comma-separated statuses, how to call them when nothing matches)."""
    if all_ or status == "ALL":
        return ",".join(ALL), "in any status"
    if dead:
        return "CANCELLED,TERMINATED", "dead"
    if running:
        return "PREPARING,RUNNING,RUNNING_DEGRADED", "running"
    if status:
        return status, status.lower()
    return ",".join(ACTIVE), "active"


def make_list_cmd(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.option("-s", "--status", default=None, type=click.Choice([*ALL, "ALL"]),
                  help="Filter by the given status.")
    @click.option("--access-key", default=None, help="Sessions of this access key (superadmin).")
    @click.option("--name-only", is_flag=True, help="Show session names only.")
    @click.option("--dead", is_flag=True, help="Only CANCELLED and TERMINATED sessions.")
    @click.option("--running", is_flag=True, help="Only PREPARING/RUNNING sessions.")
    @click.option("--detail", is_flag=True, help="Show more columns.")
    @click.option("-f", "--format", "format_", default=None,
                  help="Comma-separated fields to show (e.g. id,status,image).")
    @click.option("--plain", is_flag=True, help="No header and decorations.")
    @click.option("--filter", "filter_", default=None, help="Set the query filter expression.")
    @click.option("--order", default=None, help="Set the query ordering expression.")
    @click.option("--offset", default=0, type=int, help="The index of the first item to show.")
    @click.option("--limit", default=None, type=int, help="Show at most this many items.")
    @click.option("-a", "--all", "all_", is_flag=True, help="All sessions regardless of status.")
    def list_cmd(status: str | None, access_key: str | None, name_only: bool, dead: bool,
                 running: bool, detail: bool, format_: str | None, plain: bool,
                 filter_: str | None, order: str | None, offset: int, limit: int | None,
                 all_: bool) -> None:
        statuses, what = _status_filter(status, running, dead, all_)
        with client_session() as s:
            is_admin = bool(s.Admin.query("query { keypair { is_admin } }", {})["keypair"]["is_admin"])
            fields: list[Field] = [F.SESSION["name"]]
            if format_:
                names = [n.strip() for n in format_.split(",") if n.strip()]
                unknown = [n for n in names if n not in F.SESSION]
                if unknown:
                    print_fail(f"There is no such format option: {', '.join(unknown)}")
                    sys.exit(ExitCode.INVALID_ARGUMENT)
                fields = [F.SESSION[n] for n in names]
            elif not name_only:
                if is_admin:
                    fields.append(F.SESSION["access_key"])
                fields.append(F.SESSION["session_id"])
                fields += [F.SESSION[n] for n in F.SESSION_LIST]
                if detail:
                    fields += [F.SESSION[n] for n in F.SESSION_DETAIL_EXTRA]
            items, total = fetch_pages(s, "compute_session_list", fields, {
                "status": (statuses, "String"), "access_key": (access_key, "String"),
                "filter": (filter_, "String"), "order": (order, "String")}, offset=offset, limit=limit)
            if plain and items:
                for item in items:
                    click.echo("  ".join(f.fmt(f.value(item)) for f in fields))
                return
            print_list(items, fields, total=total, empty_msg=f"There are no matching {what} sessions.")

    return list_cmd


def make_info_cmd(doc: str) -> click.Command:
    @click.command("info", help=doc)
    @click.argument("session_id", metavar="SESSID")
    def info_cmd(session_id: str) -> None:
        fields = [F.SESSION[n] for n in F.SESSION_INFO]
        with client_session() as s:
            try:
                sid = str(uuid.UUID(session_id))
            except ValueError:
                sid = _resolve_session_id(s, session_id)
            data: Any = s.Admin.query(
                "query($id: UUID!) { compute_session(id: $id) { " + selection(fields) + " } }", {"id": sid})
            if data["compute_session"] is None:
                print_fail("There is no such compute session.")
                sys.exit(ExitCode.FAILURE)
            print_item(data["compute_session"], fields)

    return info_cmd


def _resolve_session_id(s: Any, name: str) -> str:
    """The UUID of the caller's newest session with this name (our extension: names work)."""
    items, _ = fetch_pages(s, "compute_session_list", [F.SESSION["session_id"], F.SESSION["name"]], {
        "status": (",".join(ALL), "String"), "filter": (f'name == "{name}"', "String"),
        "order": ("-created_at", "String")}, limit=1)
    if not items:
        print_fail(f"There is no such compute session: {name}")
        sys.exit(ExitCode.FAILURE)
    return str(items[0]["id"])


@admin.group("session")
def admin_session() -> None:
    """Session administration commands."""


admin_session.add_command(make_list_cmd("list", "List compute sessions."))
admin_session.add_command(make_info_cmd("Show a compute session in detail."))
