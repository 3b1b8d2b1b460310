"""Resource policies, resource (scaling) groups and image aliases:
`backend.ai admin keypair-resource-policy|scaling-group add|update|delete`,
`admin scaling-group associate/dissociate`, `admin image alias|dealias`."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..context import ExitCode, client_session
from ..output import print_result
from ..pretty import print_done
from .account_mutations import _given, _json_opt, _run
from .listings import image, keypair_resource_policy, scaling_group

# --- keypair resource policies ---------------------------------------------------------------

_policy_opts = [
    click.option("--total-resource-slots", default=None, help='JSON, e.g. {"cpu": "8", "mem": "16g"}.'),
    click.option("--max-concurrent-sessions", type=int, default=None),
    click.option("--max-containers-per-session", type=int, default=None),
    click.option("--idle-timeout", type=int, default=None, metavar="SECONDS"),
    click.option("--max-session-lifetime", type=int, default=None, metavar="SECONDS"),
    click.option("--max-vfolder-count", type=int, default=None),
    click.option("--max-vfolder-size", type=int, default=None, metavar="BYTES"),
]


def policy_options(f: Any) -> Any:
    for opt in reversed(_policy_opts):
        f = opt(f)
    return f


def _policy_values(total_resource_slots: str | None, **values: Any) -> dict[str, Any]:
    slots = _json_opt(total_resource_slots, "--total-resource-slots")
    return _given(total_resource_slots=slots, **values)


@keypair_resource_policy.command("add")
@click.argument("name")
@policy_options
def policy_add(name: str, total_resource_slots: str | None, **values: Any) -> None:
    """Create a keypair resource policy (superadmin)."""
    props = _policy_values(total_resource_slots, **values)
    _run("add", lambda s: s.KeypairResourcePolicy.create(name, **props))


@keypair_resource_policy.command("update")
@click.argument("name")
@policy_options
def policy_update(name: str, total_resource_slots: str | None, **values: Any) -> None:
    """Change a keypair resource policy (superadmin)."""
    props = _policy_values(total_resource_slots, **values)
    _run("update", lambda s: s.KeypairResourcePolicy.update(name, **props))


@keypair_resource_policy.command("delete")
@click.argument("name")
def policy_delete(name: str) -> None:
    """Delete a keypair resource policy (superadmin)."""
    _run("deletion", lambda s: s.KeypairResourcePolicy.delete(name))


# --- resource groups -------------------------------------------------------------------------

@scaling_group.command("add")
@click.argument("name")
@click.option("-d", "--description", default="")
@click.option("-i", "--inactive", is_flag=True, help="Create it inactive.")
@click.option("--private", is_flag=True, help="Not visible to users.")
@click.option("--driver", default="static")
@click.option("--scheduler", default="fifo", help="fifo, lifo or drf.")
@click.option("--scheduler-opts", default=None, help="JSON scheduler options.")
def sgroup_add(name: str, description: str, inactive: bool, private: bool, driver: str, scheduler: str,
               scheduler_opts: str | None) -> None:
    """Create a resource group (superadmin)."""
    extra = _given(scheduler_opts=_json_opt(scheduler_opts, "--scheduler-opts"))
    _run("add", lambda s: s.ScalingGroup.create(name, description=description, is_active=not inactive,
                                                is_public=not private, driver=driver, scheduler=scheduler,
                                                **extra))


@scaling_group.command("update")
@click.argument("name")
@click.option("-d", "--description", default=None)
@click.option("--is-active", type=bool, default=None)
@click.option("--is-public", type=bool, default=None)
@click.option("--scheduler", default=None)
@click.option("--scheduler-opts", default=None, help="JSON scheduler options.")
def sgroup_update(name: str, description: str | None, is_active: bool | None, is_public: bool | None,
                  scheduler: str | None, scheduler_opts: str | None) -> None:
    """Change a resource group (superadmin)."""
    changes = _given(description=description, is_active=is_active, is_public=is_public, scheduler=scheduler,
                     scheduler_opts=_json_opt(scheduler_opts, "--scheduler-opts"))
    _run("update", lambda s: s.ScalingGroup.update(name, **changes))


@scaling_group.command("delete")
@click.argument("name")
def sgroup_delete(name: str) -> None:
    """Delete a resource group (superadmin)."""
    _run("deletion", lambda s: s.ScalingGroup.delete(name))


@scaling_group.command("associate-scaling-group")
@click.argument("scaling_group_name", metavar="SCALING_GROUP")
@click.argument("domain_name", metavar="DOMAIN")
def sgroup_associate(scaling_group_name: str, domain_name: str) -> None:
    """Let a domain use a resource group."""
    _run("scaling_group_association", lambda s: s.ScalingGroup.associate_domain(scaling_group_name, domain_name))


@scaling_group.command("dissociate-scaling-group")
@click.argument("scaling_group_name", metavar="SCALING_GROUP")
@click.argument("domain_name", metavar="DOMAIN")
def sgroup_dissociate(scaling_group_name: str, domain_name: str) -> None:
    """Stop a domain from using a resource group."""
    _run("scaling_group_dissociation", lambda s: s.ScalingGroup.dissociate_domain(scaling_group_name, domain_name))


# --- image aliases ---------------------------------------------------------------------------

@image.command("alias")
@click.argument("alias")
@click.argument("target")
@click.option("--arch", default=None, help="Architecture of the target image.")
def image_alias(alias: str, target: str, arch: str | None) -> None:
    """Make ALIAS (e.g. "python") name the image TARGET."""
    with client_session() as s:
        result = s.Image.alias_image(alias, target, arch)
    if not result.get("ok", False):
        print_result(result, action="alias")
        sys.exit(ExitCode.FAILURE)
    print_done(f"An alias has created: {alias} -> {target}")


@image.command("dealias")
@click.argument("alias")
def image_dealias(alias: str) -> None:
    """Remove an image alias."""
    with client_session() as s:
        result = s.Image.dealias_image(alias)
    if not result.get("ok", False):
        print_result(result, action="dealias")
        sys.exit(ExitCode.FAILURE)
    print_done(f"The alias has been removed: {alias}")
