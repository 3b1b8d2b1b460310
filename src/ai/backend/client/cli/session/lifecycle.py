"""Creating, inspecting and terminating sessions, and moving files in and out of them:
`start` (`session create`), `rm`/`kill` (`session destroy`), `restart`, `session rename`,
`session upload/download/ls/logs`, `events`."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from ..admin.sessions import make_info_cmd, make_list_cmd
from ..context import ExitCode, client_session, handle_errors
from ..output import is_json, print_json, show_size
from ..pretty import print_done, print_error, print_fail, print_info, print_wait, print_warn
from .args import creation_kwargs, describe_status, new_session_name, parse_kv, start_options

_owner = click.option("-o", "--owner", "--owner-access-key", "owner", metavar="ACCESS_KEY", default=None,
                      help="The owner of the target session (admins acting for others).")


@click.group()
def session() -> None:
    """Set of compute session operations."""


def _print_status(kind: str, msg: str) -> None:
    {"info": print_info, "warn": print_warn, "fail": print_fail}[kind](msg)


def make_create_cmd(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("image")
    @start_options
    @_owner
    @click.option("--startup-command", "-c", "startup_command", default=None, metavar="COMMAND",
                  help="Command a batch session runs.")
    @click.option("--bootstrap-script", type=click.File("r"), default=None, help="Script run on startup.")
    @click.option("--depends", multiple=True, metavar="SESSION_ID", help="Sessions this one waits for.")
    def create(image: str, name: str | None, owner: str | None, startup_command: str | None,
               bootstrap_script: Any, depends: tuple[str, ...], env: tuple[str, ...], **opts: Any) -> None:
        kwargs = creation_kwargs(name=name or new_session_name(), envs=parse_kv(env, "env"), **opts,
                                 owner_access_key=owner, startup_command=startup_command,
                                 bootstrap_script=bootstrap_script.read() if bootstrap_script else None,
                                 dependencies=list(depends) or None)
        with client_session() as s:
            cs = s.ComputeSession.get_or_create(image, **kwargs)
            ready, kind, msg = describe_status(cs, kwargs["name"])
            _print_status(kind, msg)
            ports = getattr(cs, "service_ports", None) or []
            if ready and ports:
                print_info("This session provides the following app services: "
                           + ", ".join(p["name"] for p in ports))
            if kind == "fail":
                sys.exit(ExitCode.FAILURE)

    return create


def make_destroy_cmd(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("session_names", metavar="SESSID", nargs=-1, required=True)
    @click.option("-f", "--forced", is_flag=True, help="Force-terminate (admins, e.g. errored sessions).")
    @_owner
    @click.option("-s", "--stats", is_flag=True, help="Show the last resource usage statistics.")
    @click.option("-r", "--recursive", is_flag=True, help="Also cancel sessions depending on these.")
    def destroy(session_names: tuple[str, ...], forced: bool, owner: str | None, stats: bool,
                recursive: bool) -> None:
        print_wait("Terminating the session(s)...")
        failed = False
        with client_session() as s:
            for ref in session_names:
                try:
                    ret = s.ComputeSession(ref, owner).destroy(forced=forced, recursive=recursive)
                except Exception as e:
                    print_error(e)
                    failed = True
                    continue
                if stats:
                    data = (ret or {}).get("stats") if isinstance(ret, dict) else None
                    click.echo(json.dumps(data, indent=2) if data else "Statistics is not available.")
        if failed:
            sys.exit(ExitCode.FAILURE)
        print_done("Done.")

    return destroy


def make_restart_cmd(doc: str) -> click.Command:
    @click.command("restart", help=doc)
    @click.argument("session_refs", metavar="SESSION_REFS", nargs=-1, required=True)
    @_owner
    def restart(session_refs: tuple[str, ...], owner: str | None) -> None:
        print_wait("Restarting the session(s)...")
        failed = False
        with client_session() as s:
            for ref in session_refs:
                try:
                    s.ComputeSession(ref, owner).restart()
                except Exception as e:
                    print_error(e)
                    failed = True
        if failed:
            sys.exit(ExitCode.FAILURE)
        print_done("Done.")

    return restart


def make_events_cmd(doc: str) -> click.Command:
    @click.command("events", help=doc)
    @click.argument("session_name_or_id", metavar="SESSION_ID_OR_NAME")
    @_owner
    @click.option("--scope", type=click.Choice(["*", "session", "kernel"]), default="*",
                  help="Only session-level or kernel-level events.")
    def events(session_name_or_id: str, owner: str | None, scope: str) -> None:
        from ai.backend.client.session import AsyncSession

        async def follow() -> None:
            async with AsyncSession() as s:
                cs = s.ComputeSession(session_name_or_id, owner)
                listen = getattr(cs, "listen_events", None) or cs.stream_events
                async with listen(scope=scope) as stream:
                    async for ev in stream:
                        try:
                            data = json.dumps(json.loads(ev.data))
                        except (TypeError, ValueError):
                            data = str(ev.data)
                        click.echo(click.style(ev.event, fg="cyan", bold=True) + " " + data)
                        sys.stdout.flush()

        with handle_errors():
            asyncio.run(follow())

    return events


@session.command()
@click.argument("session_id", metavar="SESSID")
@click.argument("new_name")
def rename(session_id: str, new_name: str) -> None:
    """Rename a session."""
    with client_session() as s:
        s.ComputeSession(session_id).rename(new_name)
        print_done(f"Session renamed to {new_name}.")


@session.command()
@click.argument("session_id", metavar="SESSID")
@click.argument("files", type=click.Path(exists=True), nargs=-1, required=True)
def upload(session_id: str, files: tuple[str, ...]) -> None:
    """Upload files into the session's home directory (/home/work)."""
    with client_session() as s:
        print_wait("Uploading files...")
        s.ComputeSession(session_id).upload(list(files), show_progress=True)
        print_done("Uploaded.")


@session.command()
@click.argument("session_id", metavar="SESSID")
@click.argument("files", nargs=-1, required=True)
@click.option("--dest", type=Path, default=Path("."), help="Local directory to store the files in.")
def download(session_id: str, files: tuple[str, ...], dest: Path) -> None:
    """Download files from the session's home directory."""
    with client_session() as s:
        print_wait(f"Downloading file(s) from {session_id}...")
        s.ComputeSession(session_id).download(list(files), str(dest), show_progress=True)
        print_done(f"Downloaded to {dest.resolve()}.")


@session.command()
@click.argument("session_id", metavar="SESSID")
@click.argument("path", default="/home/work")
def ls(session_id: str, path: str) -> None:
    """List files in a path of a running session."""
    with client_session() as s:
        result = s.ComputeSession(session_id).list_files(path)
        if result.get("errors"):
            print_fail(str(result["errors"]))
            sys.exit(ExitCode.FAILURE)
        files = result["files"]
        if isinstance(files, str):
            files = json.loads(files)
        if is_json():
            print_json(files)
            return
        rows = [[f["filename"], show_size(f["size"]),
                 datetime.fromtimestamp(float(f["mtime"])).strftime("%b %d %Y %H:%M:%S"), f["mode"]]
                for f in files]
        click.echo(tabulate(rows, headers=["File name", "Size", "Modified", "Mode"]))


@session.command()
@click.argument("session_id", metavar="SESSID")
def logs(session_id: str) -> None:
    """Show the full console log of a session's main container."""
    with client_session() as s:
        result = s.ComputeSession(session_id).get_logs()
        logs_ = (result.get("result") or {}).get("logs", "") if isinstance(result, dict) else str(result)
        click.echo(logs_)
        print_done("End of logs.")


session.add_command(make_create_cmd("create", "Create a session and start it without running code."))
session.add_command(make_destroy_cmd("destroy", "Terminate sessions (names or IDs)."))
session.add_command(make_destroy_cmd("rm", 'Alias of "session destroy".'))
session.add_command(make_destroy_cmd("kill", 'Alias of "session destroy".'))
session.add_command(make_restart_cmd("Restart sessions (names or IDs)."))
session.add_command(make_events_cmd("Follow a session's lifecycle events."))
session.add_command(make_list_cmd("list", 'List compute sessions (alias of "admin session list").'))
session.add_command(make_info_cmd('Show a compute session (alias of "admin session info").'))

TOP_LEVEL = [
    make_create_cmd("start", 'Alias of "session create".'),
    make_create_cmd("create", 'Alias of "session create".'),
    make_destroy_cmd("rm", 'Alias of "session destroy".'),
    make_destroy_cmd("destroy", 'Alias of "session destroy".'),
    make_destroy_cmd("kill", 'Alias of "session destroy".'),
    make_restart_cmd('Alias of "session restart".'),
    make_events_cmd('Alias of "session events".'),
]
