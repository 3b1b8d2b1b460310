"""Listing and inspecting domains, projects, users, keypairs, resource policies, resource
groups, images and agents (`backend.ai admin <entity> list|info`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..context import ExitCode, client_session
from ..output import Field, print_item, print_list, selection
from ..pretty import print_fail
from . import admin
from . import fields as F
from .gql import fetch_item, fetch_list, fetch_pages

_page_options = [
    click.option("--filter", "filter_", default=None, help="Set the query filter expression."),
    click.option("--order", default=None, help="Set the query ordering expression."),
    click.option("--offset", default=0, type=int, help="The index of the first item to show."),
    click.option("--limit", default=None, type=int, help="Show at most this many items."),
]


def page_options(f: Any) -> Any:
    for opt in reversed(_page_options):
        f = opt(f)
    return f


def _show_item(item: dict[str, Any] | None, fields: list[Field], what: str) -> None:
    if item is None:
        print_fail(f"There is no such {what}.")
        sys.exit(ExitCode.FAILURE)
    print_item(item, fields)


# --- domains ---------------------------------------------------------------------------------

@admin.group()
def domain() -> None:
    """Domain administration commands."""


@domain.command("list")
def domain_list() -> None:
    """List domains (superadmin)."""
    with client_session() as s:
        print_list(fetch_list(s, "domains", F.DOMAIN_LIST, {"is_active": (None, "Boolean")}), F.DOMAIN_LIST)


@domain.command("info")
@click.argument("name")
def domain_info(name: str) -> None:
    """Show a domain."""
    with client_session() as s:
        _show_item(fetch_item(s, "domain", F.DOMAIN_INFO, {"name": (name, "String")}), F.DOMAIN_INFO, "domain")


# --- projects (groups) -----------------------------------------------------------------------

@admin.group()
def group() -> None:
    """User group (project) administration commands."""


@group.command("list")
@click.option("-d", "--domain-name", default=None, help="Domain of the projects (default: yours).")
def group_list(domain_name: str | None) -> None:
    """List projects."""
    with client_session() as s:
        items = fetch_list(s, "groups", F.GROUP_LIST,
                           {"domain_name": (domain_name, "String"), "is_active": (None, "Boolean")})
        print_list(items, F.GROUP_LIST)


@group.command("info")
@click.argument("id_or_name")
def group_info(id_or_name: str) -> None:
    """Show a project by its UUID or name."""
    import uuid

    with client_session() as s:
        try:
            gid = str(uuid.UUID(id_or_name))
        except ValueError:
            items = fetch_list(s, "groups_by_name", F.GROUP_INFO, {"name": (id_or_name, "String!")})
            _show_item(items[0] if items else None, F.GROUP_INFO, "project")
            return
        _show_item(fetch_item(s, "group", F.GROUP_INFO, {"id": (gid, "UUID!")}), F.GROUP_INFO, "project")


# --- users -----------------------------------------------------------------------------------

@admin.group()
def user() -> None:
    """User administration commands."""


@user.command("list")
@click.option("-s", "--status", default=None, help="Filter by status (active, inactive, deleted, before-verification).")
@click.option("-g", "--group", default=None, help="Filter by project ID.")
@page_options
def user_list(status: str | None, group: str | None, filter_: str | None, order: str | None,
              offset: int, limit: int | None) -> None:
    """List users."""
    with client_session() as s:
        items, total = fetch_pages(s, "user_list", F.USER_LIST, {
            "status": (status, "String"), "group_id": (group, "UUID"),
            "filter": (filter_, "String"), "order": (order, "String")}, offset=offset, limit=limit)
        print_list(items, F.USER_LIST, total=total)


@user.command("info")
@click.option("-e", "--email", default=None, help="Email of the user (default: yourself).")
def user_info(email: str | None) -> None:
    """Show a user (yourself unless --email is given)."""
    with client_session() as s:
        if email is None:
            data = s.Admin.query("query { user { " + selection(F.USER_LIST) + " } }", {})
            _show_item(data["user"], F.USER_LIST, "user")
        else:
            _show_item(fetch_item(s, "user", F.USER_LIST, {"email": (email, "String")}), F.USER_LIST, "user")


# --- keypairs --------------------------------------------------------------------------------

@admin.group()
def keypair() -> None:
    """KeyPair administration commands."""


@keypair.command("list")
@click.option("-u", "--user-id", default=None, help="Show the keypairs of this user (email).")
@click.option("--is-active", type=bool, default=None, help="Filter by activeness (true/false).")
@page_options
def keypair_list(user_id: str | None, is_active: bool | None, filter_: str | None, order: str | None,
                 offset: int, limit: int | None) -> None:
    """List keypairs."""
    if user_id:
        email_filter = f'user_id == "{user_id}"'
        filter_ = f"({filter_}) & ({email_filter})" if filter_ else email_filter
    with client_session() as s:
        items, total = fetch_pages(s, "keypair_list", F.KEYPAIR_LIST, {
            "is_active": (is_active, "Boolean"), "filter": (filter_, "String"),
            "order": (order, "String")}, offset=offset, limit=limit)
        print_list(items, F.KEYPAIR_LIST, total=total)


@keypair.command("info")
def keypair_info() -> None:
    """Show your own keypair."""
    with client_session() as s:
        data = s.Admin.query("query { keypair { " + selection(F.KEYPAIR_INFO) + " } }", {})
        _show_item(data["keypair"], F.KEYPAIR_INFO, "keypair")


# --- keypair resource policies ---------------------------------------------------------------

@admin.group("keypair-resource-policy")
def keypair_resource_policy() -> None:
    """KeyPair resource policy administration commands."""


@keypair_resource_policy.command("list")
def policy_list() -> None:
    """List keypair resource policies."""
    with client_session() as s:
        print_list(fetch_list(s, "keypair_resource_policies", F.POLICY_LIST), F.POLICY_LIST)


@keypair_resource_policy.command("info")
@click.argument("name")
def policy_info(name: str) -> None:
    """Show a keypair resource policy."""
    with client_session() as s:
        item = fetch_item(s, "keypair_resource_policy", F.POLICY_LIST, {"name": (name, "String")})
        _show_item(item, F.POLICY_LIST, "keypair resource policy")


# --- resource (scaling) groups ---------------------------------------------------------------

@admin.group("scaling-group")
def scaling_group() -> None:
    """Scaling group (resource group) administration commands."""


@scaling_group.command("list")
def sgroup_list() -> None:
    """List resource groups."""
    with client_session() as s:
        print_list(fetch_list(s, "scaling_groups", F.SGROUP_LIST, {"is_active": (None, "Boolean")}),
                   F.SGROUP_LIST)


@scaling_group.command("info")
@click.argument("name")
def sgroup_info(name: str) -> None:
    """Show a resource group."""
    with client_session() as s:
        item = fetch_item(s, "scaling_group", F.SGROUP_INFO, {"name": (name, "String")})
        _show_item(item, F.SGROUP_INFO, "scaling group")


# --- images ----------------------------------------------------------------------------------

@admin.group()
def image() -> None:
    """Image administration commands."""


@image.command("list")
@click.option("--operation", is_flag=True, help="Show operational (internal) images too.")
def image_list(operation: bool) -> None:
    """List images."""
    with client_session() as s:
        items = fetch_list(s, "images", F.IMAGE_LIST, {"is_operation": (operation, "Boolean")})
        print_list(items, F.IMAGE_LIST)


# --- agents ----------------------------------------------------------------------------------

@admin.group()
def agent() -> None:
    """Agent administration commands."""


@agent.command("list")
@click.option("-s", "--status", default="ALIVE", help="Filter agents by status (default ALIVE).")
@click.option("--scaling-group", "--sgroup", default=None, help="Filter agents by resource group.")
@page_options
def agent_list(status: str, scaling_group: str | None, filter_: str | None, order: str | None,
               offset: int, limit: int | None) -> None:
    """List agents (superadmin)."""
    with client_session() as s:
        items, total = fetch_pages(s, "agent_list", F.AGENT_LIST, {
            "status": (status, "String"), "scaling_group": (scaling_group, "String"),
            "filter": (filter_, "String"), "order": (order, "String")}, offset=offset, limit=limit)
        print_list(items, F.AGENT_LIST, total=total)


@agent.command("info")
@click.argument("agent_id")
def agent_info(agent_id: str) -> None:
    """Show an agent."""
    with client_session() as s:
        item = fetch_item(s, "agent", F.AGENT_INFO, {"agent_id": (agent_id, "String!")})
        _show_item(item, F.AGENT_INFO, "agent")
