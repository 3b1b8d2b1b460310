"""Creating, changing and removing domains, projects, users and keypairs
(`backend.ai admin <entity> add|update|delete|purge|...`). Each prints the server's
{ok, msg, item} as a Field/Value table (or JSON) and exits 1 when the server says no."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ..context import ExitCode, client_session
from ..output import print_result
from ..pretty import print_fail, print_info
from .listings import domain, group, keypair, user


def _given(**values: Any) -> dict[str, Any]:
    """Only the options the user gave (None = not given), so updates touch nothing else."""
    return {k: v for k, v in values.items() if v is not None}


def _json_opt(value: str | None, what: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        print_fail(f"{what} must be JSON, e.g. '{{\"cpu\": \"4\"}}': {value!r}")
        sys.exit(ExitCode.INVALID_ARGUMENT)


def _run(action: str, call: Callable[[Any], dict[str, Any]]) -> None:
    with client_session() as s:
        result = call(s)
    print_result(result, action=action)
    if not result.get("ok", False):
        sys.exit(ExitCode.FAILURE)


def _confirm(yes: bool, what: str) -> None:
    if not yes and not click.confirm(f"This permanently removes {what}. Continue?", default=False):
        print_info("Cancelled.")
        sys.exit(ExitCode.FAILURE)


_yes = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")


# --- domains ---------------------------------------------------------------------------------

@domain.command("add")
@click.argument("name")
@click.option("-d", "--description", default="", help="Description.")
@click.option("--inactive", is_flag=True, help="Create it inactive.")
@click.option("--total-resource-slots", default=None, help='JSON, e.g. {"cpu": "64"}.')
@click.option("--allowed-docker-registries", default=None, help="Comma-separated registry names.")
def domain_add(name: str, description: str, inactive: bool, total_resource_slots: str | None,
               allowed_docker_registries: str | None) -> None:
    """Create a domain (superadmin)."""
    extra = _given(total_resource_slots=_json_opt(total_resource_slots, "--total-resource-slots"),
                   allowed_docker_registries=allowed_docker_registries.split(",") if allowed_docker_registries else None)
    _run("add", lambda s: s.Domain.create(name, description=description, is_active=not inactive, **extra))


@domain.command("update")
@click.argument("name")
@click.option("--new-name", default=None, help="Rename the domain.")
@click.option("-d", "--description", default=None, help="Description.")
@click.option("--is-active", type=bool, default=None, help="true/false.")
@click.option("--total-resource-slots", default=None, help='JSON, e.g. {"cpu": "64"}.')
def domain_update(name: str, new_name: str | None, description: str | None, is_active: bool | None,
                  total_resource_slots: str | None) -> None:
    """Change a domain (superadmin)."""
    changes = _given(new_name=new_name, description=description, is_active=is_active,
                     total_resource_slots=_json_opt(total_resource_slots, "--total-resource-slots"))
    _run("update", lambda s: s.Domain.update(name, **changes))


@domain.command("delete")
@click.argument("name")
def domain_delete(name: str) -> None:
    """Deactivate a domain (superadmin)."""
    _run("deletion", lambda s: s.Domain.delete(name))


@domain.command("purge")
@click.argument("name")
@_yes
def domain_purge(name: str, yes: bool) -> None:
    """Remove a domain for good (superadmin)."""
    _confirm(yes, f"domain {name}")
    _run("purge", lambda s: s.Domain.purge(name))


# --- projects --------------------------------------------------------------------------------

@group.command("add")
@click.argument("domain_name")
@click.argument("name")
@click.option("-d", "--description", default="", help="Description.")
@click.option("-i", "--inactive", is_flag=True, help="Create it inactive.")
@click.option("--total-resource-slots", default=None, help='JSON, e.g. {"cpu": "16"}.')
def group_add(domain_name: str, name: str, description: str, inactive: bool,
              total_resource_slots: str | None) -> None:
    """Create a project in a domain."""
    slots = _json_opt(total_resource_slots, "--total-resource-slots")
    _run("add", lambda s: s.Group.create(domain_name, name, description=description, is_active=not inactive,
                                         **_given(total_resource_slots=slots)))


@group.command("update")
@click.argument("gid", metavar="GROUP_ID")
@click.option("-n", "--name", default=None, help="Rename the project.")
@click.option("-d", "--description", default=None, help="Description.")
@click.option("--is-active", type=bool, default=None, help="true/false.")
def group_update(gid: str, name: str | None, description: str | None, is_active: bool | None) -> None:
    """Change a project."""
    changes = _given(name=name, description=description, is_active=is_active)
    _run("update", lambda s: s.Group.update(gid, **changes))


@group.command("delete")
@click.argument("gid", metavar="GROUP_ID")
def group_delete(gid: str) -> None:
    """Deactivate a project."""
    _run("deletion", lambda s: s.Group.delete(gid))


@group.command("purge")
@click.argument("gid", metavar="GROUP_ID")
@_yes
def group_purge(gid: str, yes: bool) -> None:
    """Remove a project for good."""
    _confirm(yes, f"project {gid}")
    _run("purge", lambda s: s.Group.purge(gid))


# --- users -----------------------------------------------------------------------------------

@user.command("add")
@click.argument("domain_name")
@click.argument("email")
@click.argument("password")
@click.option("-u", "--username", default=None, help="Username (default: the email's local part).")
@click.option("-n", "--full-name", default=None, help="Full name.")
@click.option("-r", "--role", default="user", type=click.Choice(["superadmin", "admin", "user", "monitor"]))
@click.option("-s", "--status", default="active",
              type=click.Choice(["active", "inactive", "deleted", "before-verification"]))
@click.option("--need-password-change", is_flag=True, help="Ask for a new password at first login.")
@click.option("--description", default="", help="Description.")
@click.option("-g", "--group", "groups", multiple=True, help="Project IDs to join (repeatable).")
def user_add(domain_name: str, email: str, password: str, username: str | None, full_name: str | None,
             role: str, status: str, need_password_change: bool, description: str,
             groups: tuple[str, ...]) -> None:
    """Create a user (admins)."""
    extra = _given(username=username, full_name=full_name, group_ids=list(groups) or None)
    _run("add", lambda s: s.User.create(domain_name, email, password, role=role, status=status,
                                        need_password_change=need_password_change,
                                        description=description, **extra))


@user.command("update")
@click.argument("email")
@click.option("-p", "--password", default=None, help="New password.")
@click.option("-u", "--username", default=None)
@click.option("-n", "--full-name", default=None)
@click.option("-d", "--domain-name", default=None)
@click.option("-r", "--role", default=None, type=click.Choice(["superadmin", "admin", "user", "monitor"]))
@click.option("-s", "--status", default=None,
              type=click.Choice(["active", "inactive", "deleted", "before-verification"]))
@click.option("--need-password-change", type=bool, default=None, help="true/false.")
@click.option("--description", default=None)
def user_update(email: str, password: str | None, username: str | None, full_name: str | None,
                domain_name: str | None, role: str | None, status: str | None,
                need_password_change: bool | None, description: str | None) -> None:
    """Change a user (admins)."""
    changes = _given(password=password, username=username, full_name=full_name, domain_name=domain_name,
                     role=role, status=status, need_password_change=need_password_change,
                     description=description)
    _run("update", lambda s: s.User.update(email, **changes))


@user.command("delete")
@click.argument("email")
def user_delete(email: str) -> None:
    """Mark a user deleted (admins)."""
    _run("deletion", lambda s: s.User.delete(email))


@user.command("purge")
@click.argument("email")
@click.option("--purge-shared-vfolders", is_flag=True, help="Also delete the user's shared folders.")
@_yes
def user_purge(email: str, purge_shared_vfolders: bool, yes: bool) -> None:
    """Remove a user and their data for good (admins)."""
    _confirm(yes, f"user {email}")
    _run("purge", lambda s: s.User.purge(email, purge_shared_vfolders))


# --- keypairs --------------------------------------------------------------------------------

@keypair.command("add")
@click.argument("user_id", metavar="USERID")
@click.argument("resource_policy", metavar="RESOURCE_POLICY", default="default", required=False)
@click.option("-a", "--admin", "is_admin", is_flag=True, help="An admin keypair.")
@click.option("-i", "--inactive", is_flag=True, help="Create it inactive.")
@click.option("-r", "--rate-limit", type=int, default=None, help="Requests per 15 minutes.")
def keypair_add(user_id: str, resource_policy: str, is_admin: bool, inactive: bool,
                rate_limit: int | None) -> None:
    """Issue a new keypair to a user (email)."""
    _run("add", lambda s: s.KeyPair.create(user_id, is_active=not inactive, is_admin=is_admin,
                                           resource_policy=resource_policy, **_given(rate_limit=rate_limit)))


@keypair.command("update")
@click.argument("access_key", metavar="ACCESSKEY")
@click.option("--is-admin", type=bool, default=None, help="true/false.")
@click.option("--is-active", type=bool, default=None, help="true/false.")
@click.option("--resource-policy", default=None)
@click.option("-r", "--rate-limit", type=int, default=None)
def keypair_update(access_key: str, is_admin: bool | None, is_active: bool | None,
                   resource_policy: str | None, rate_limit: int | None) -> None:
    """Change a keypair."""
    changes = _given(is_admin=is_admin, is_active=is_active, resource_policy=resource_policy,
                     rate_limit=rate_limit)
    _run("update", lambda s: s.KeyPair.update(access_key, **changes))


@keypair.command("delete")
@click.argument("access_key", metavar="ACCESSKEY")
def keypair_delete(access_key: str) -> None:
    """Delete a keypair."""
    _run("deletion", lambda s: s.KeyPair.delete(access_key))


@keypair.command("activate")
@click.argument("access_key", metavar="ACCESSKEY")
def keypair_activate(access_key: str) -> None:
    """Activate a keypair."""
    _run("activation", lambda s: s.KeyPair.activate(access_key))


@keypair.command("deactivate")
@click.argument("access_key", metavar="ACCESSKEY")
def keypair_deactivate(access_key: str) -> None:
    """Deactivate a keypair."""
    _run("deactivation", lambda s: s.KeyPair.deactivate(access_key))

