"""`backend.ai dotfile`: files placed in every new session's home (user, project or domain)."""

from __future__ import annotations

import sys

import click
from tabulate import tabulate

from .context import ExitCode, client_session
from .output import is_json, print_json
from .pretty import print_info
from .sesstpl import confirmed, read_body


def _scope(f: object) -> object:
    for opt in reversed([
        click.option("-o", "--owner", "--owner-access-key", "owner_access_key", default=None,
                     metavar="ACCESS_KEY", help="Act on this keypair's dotfiles (admins)."),
        click.option("-d", "--domain", default=None, metavar="DOMAIN", help="Domain dotfiles of this domain."),
        click.option("-g", "--group", default=None, metavar="GROUP", help="Project dotfiles (ID or name)."),
    ]):
        f = opt(f)  # type: ignore[operator]
    return f


def _content_opts(f: object) -> object:
    for opt in reversed([
        click.option("--perm", "permission", default="755", help="Octal permission (default 755)."),
        click.option("-f", "--file", "dotfile_path", default=None, type=click.Path(exists=True, dir_okay=False),
                     help="Local file with the content (default: standard input)."),
    ]):
        f = opt(f)  # type: ignore[operator]
    return f


@click.group()
def dotfile() -> None:
    """Provides dotfile operations."""


@dotfile.command()
@click.argument("path", metavar="PATH")
@_content_opts
@_scope
def create(path: str, permission: str, dotfile_path: str | None, owner_access_key: str | None,
           domain: str | None, group: str | None) -> None:
    """Store a dotfile created at PATH (under /home/work) in every new session."""
    body = read_body(dotfile_path)
    with client_session() as s:
        s.Dotfile.create(body, path, permission, owner_access_key=owner_access_key, domain=domain, group=group)
        print_info(f"Dotfile {path} created and ready")


@dotfile.command("list")
@_scope
def list_(owner_access_key: str | None, domain: str | None, group: str | None) -> None:
    """List user (or project/domain) dotfiles."""
    with client_session() as s:
        items = s.Dotfile.list_dotfiles(owner_access_key=owner_access_key, domain=domain, group=group)
        if is_json():
            print_json({"count": len(items), "total_count": len(items), "items": items})
            return
        if not items:
            click.echo("There is no dotfiles created yet.")
            return
        rows = [[i["path"], (i["data"][:30].splitlines() or [""])[0], i["permission"]] for i in items]
        click.echo(tabulate(rows, ["Path", "Data", "Permission"]))


@dotfile.command()
@click.argument("path", metavar="PATH")
@_scope
def get(path: str, owner_access_key: str | None, domain: str | None, group: str | None) -> None:
    """Print a dotfile's content."""
    with client_session() as s:
        body = s.Dotfile(path, owner_access_key=owner_access_key, domain=domain, group=group).get()
        data = str(body["data"] if isinstance(body, dict) else body)
        click.echo(data, nl=not data.endswith("\n"))


@dotfile.command()
@click.argument("path", metavar="PATH")
@_content_opts
@_scope
def update(path: str, permission: str, dotfile_path: str | None, owner_access_key: str | None,
           domain: str | None, group: str | None) -> None:
    """Replace a dotfile's content and permission."""
    body = read_body(dotfile_path)
    with client_session() as s:
        s.Dotfile(path, owner_access_key=owner_access_key, domain=domain, group=group).update(body, permission)
        print_info(f"Dotfile {path} updated")


@dotfile.command()
@click.argument("path", metavar="PATH")
@click.option("-f", "--force", is_flag=True, help="Delete without confirmation.")
@_scope
def delete(path: str, force: bool, owner_access_key: str | None, domain: str | None,
           group: str | None) -> None:
    """Delete a dotfile."""
    if not confirmed(force):
        print_info("Aborting.")
        sys.exit(ExitCode.FAILURE)
    with client_session() as s:
        s.Dotfile(path, owner_access_key=owner_access_key, domain=domain, group=group).delete()
        print_info(f"Dotfile {path} deleted")
