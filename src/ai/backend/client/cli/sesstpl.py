"""`backend.ai session-template` (alias `sesstpl`): CRUD of session templates (YAML/JSON)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tabulate import tabulate

from .context import ExitCode, client_session
from .output import is_json, print_json
from .pretty import print_fail, print_info

_owner = click.option("-o", "--owner", "--owner-access-key", "owner_access_key", default=None,
                      metavar="ACCESS_KEY", help="Act on this keypair's templates (admins).")


def read_body(path: str | None) -> str:
    """The template/dotfile text from -f FILE or standard input; empty text is an error."""
    body = Path(path).read_text() if path else sys.stdin.read()
    if not body.strip():
        print_fail("The content is empty: give it with -f FILE or on standard input.")
        sys.exit(ExitCode.INVALID_ARGUMENT)
    return body


def confirmed(force: bool) -> bool:
    if force:
        return True
    return click.confirm("Are you sure?", default=False)


@click.group("session-template")
def session_template() -> None:
    """Set of session template operations (alias: sesstpl)."""


@session_template.command()
@click.option("-f", "--file", "template_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Template file (default: standard input).")
@click.option("-d", "--domain", default=None, metavar="DOMAIN_NAME", help="Domain of the template.")
@click.option("-g", "--group", default=None, metavar="GROUP_NAME", help="Project of the template.")
@_owner
def create(template_path: str | None, domain: str | None, group: str | None,
           owner_access_key: str | None) -> None:
    """Store a session template and print its ID."""
    body = read_body(template_path)
    with client_session() as s:
        tpl = s.SessionTemplate.create(body, domain_name=domain, group_name=group,
                                       owner_access_key=owner_access_key)
        print_info(f"Task template {tpl.template_id} created and ready")


@session_template.command("list")
@click.option("-a", "--list-all", is_flag=True, help="All templates (superadmin).")
def list_(list_all: bool) -> None:
    """List the session templates you can use."""
    cols = [("Name", "name"), ("ID", "id"), ("Created At", "created_at"), ("Owner", "is_owner"),
            ("Type", "type"), ("User", "user"), ("Group", "group")]
    with client_session() as s:
        items = s.SessionTemplate.list_templates(list_all)
        if is_json():
            print_json({"count": len(items), "total_count": len(items), "items": items})
            return
        if not items:
            click.echo("There is no task templates created yet.")
            return
        click.echo(tabulate([[i.get(k) for _, k in cols] for i in items], [h for h, _ in cols]))


@session_template.command()
@click.argument("template_id", metavar="TEMPLATEID")
@click.option("-f", "--format", "template_format", default="yaml", type=click.Choice(["yaml", "json"]))
@_owner
def get(template_id: str, template_format: str, owner_access_key: str | None) -> None:
    """Print a session template."""
    with client_session() as s:
        body = s.SessionTemplate(template_id, owner_access_key=owner_access_key).get(body_format=template_format)
        click.echo(body if isinstance(body, str) else str(body))


@session_template.command()
@click.argument("template_id", metavar="TEMPLATEID")
@click.option("-f", "--file", "template_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Template file (default: standard input).")
@_owner
def update(template_id: str, template_path: str | None, owner_access_key: str | None) -> None:
    """Replace a session template's content."""
    body = read_body(template_path)
    with client_session() as s:
        s.SessionTemplate(template_id, owner_access_key=owner_access_key).put(body)
        print_info(f"Task template {template_id} updated")


@session_template.command()
@click.argument("template_id", metavar="TEMPLATEID")
@click.option("-f", "--force", is_flag=True, help="Delete without confirmation.")
@_owner
def delete(template_id: str, force: bool, owner_access_key: str | None) -> None:
    """Delete a session template."""
    if not confirmed(force):
        print_info("Aborting.")
        sys.exit(ExitCode.FAILURE)
    with client_session() as s:
        s.SessionTemplate(template_id, owner_access_key=owner_access_key).delete()
        print_info(f"Task template {template_id} deleted")
