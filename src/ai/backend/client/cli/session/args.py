"""Options shared by `run` and `start` (session creation) and turning them into the
arguments of `ComputeSession.get_or_create`."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from ..context import ExitCode
from ..pretty import print_fail

START_OPTIONS = [
    click.option("-t", "--name", "--client-token", "name", metavar="NAME", default=None,
                 help="Session name (default: a random pysdk-* name); an existing one is reused."),
    click.option("--type", "type_", type=click.Choice(["batch", "interactive"]), default="interactive",
                 help="Session type."),
    click.option("--starts-at", default=None, help="Start the batch session at this time (ISO 8601 or e.g. 1h)."),
    click.option("--enqueue-only", is_flag=True, help="Return right after the session is enqueued."),
    click.option("--max-wait", metavar="SECONDS", type=int, default=0,
                 help="Wait at most this long for the session to start (0 = until it starts)."),
    click.option("--no-reuse", is_flag=True, help="Fail instead of reusing an existing session with the name."),
    click.option("--callback-url", default=None, help="URL called on session lifecycle events."),
    click.option("-e", "--env", metavar="KEY=VAL", multiple=True, help="Environment variable (repeatable)."),
    click.option("--tag", default=None, help="A user-defined tag string."),
    click.option("-v", "--volume", "-m", "--mount", "mount", metavar="NAME[=PATH]", multiple=True,
                 help="Mount a virtual folder (under /home/work unless PATH is given; repeatable)."),
    click.option("--scaling-group", "--sgroup", "scaling_group", default=None, help="Resource group to use."),
    click.option("-r", "--resources", metavar="KEY=VAL", multiple=True,
                 help="Resource slot (e.g. -r cpu=2 -r mem=512m; a bare mem number is MiB)."),
    click.option("--cluster-size", metavar="NUMBER", type=int, default=1, help="Number of kernels."),
    click.option("--cluster-mode", type=click.Choice(["single-node", "multi-node"]), default="single-node",
                 help="How the cluster's kernels are placed."),
    click.option("--resource-opts", metavar="KEY=VAL", multiple=True, help="Resource options (e.g. shmem=64m)."),
    click.option("--arch", "--architecture", "architecture", default="x86_64", help="Image architecture."),
    click.option("-d", "--domain", default=None, help="Domain of the session (default: the configured one)."),
    click.option("-g", "--group", default=None, help="Project of the session (default: the configured one)."),
]


def start_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(START_OPTIONS):
        f = opt(f)
    return f


def new_session_name() -> str:
    return f"pysdk-{secrets.token_hex(5)}"


def parse_kv(items: Sequence[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print_fail(f"{what} must be KEY=VALUE: {item!r}")
            sys.exit(ExitCode.INVALID_ARGUMENT)
        out[key] = value
    return out


def parse_resources(items: Sequence[str]) -> dict[str, str]:
    res = parse_kv(items, "resources")
    if (mem := res.get("mem")) and mem[-1].isdigit():
        res["mem"] = mem + "m"      # the CLI's default unit for memory is MiB
    return res


def parse_mounts(items: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """`name`, `name=path` or `name:path` -> (names, {name: path})."""
    names: list[str] = []
    mount_map: dict[str, str] = {}
    for item in items:
        sep = "=" if "=" in item else (":" if ":" in item else None)
        name, path = (item.split(sep, 1) if sep else (item, None))
        if not name:
            print_fail(f"mount must be NAME[=PATH]: {item!r}")
            sys.exit(ExitCode.INVALID_ARGUMENT)
        if name not in names:
            names.append(name)
        if path:
            mount_map[name] = path
    return names, mount_map


def creation_kwargs(*, name: str, type_: str, starts_at: str | None, enqueue_only: bool, max_wait: int,
                    no_reuse: bool, callback_url: str | None, envs: dict[str, str], tag: str | None,
                    mount: Sequence[str], scaling_group: str | None, resources: Sequence[str],
                    cluster_size: int, cluster_mode: str, resource_opts: Sequence[str],
                    architecture: str, domain: str | None, group: str | None,
                    **extra: Any) -> dict[str, Any]:
    mounts, mount_map = parse_mounts(mount)
    kwargs: dict[str, Any] = {
        "name": name, "type_": type_, "starts_at": starts_at, "enqueue_only": enqueue_only, "max_wait": max_wait,
        "no_reuse": no_reuse, "callback_url": callback_url, "cluster_size": cluster_size,
        "cluster_mode": cluster_mode, "mounts": mounts, "mount_map": mount_map, "envs": envs,
        "resources": parse_resources(resources), "resource_opts": parse_resources(resource_opts),
        "domain_name": domain, "group_name": group, "scaling_group": scaling_group, "tag": tag,
        "architecture": architecture}
    kwargs.update({k: v for k, v in extra.items() if v is not None})
    return kwargs


def describe_status(cs: Any, label: str) -> tuple[bool, str, str]:
    """(ready to execute?, message kind, message) for a get_or_create result."""
    status = str(getattr(cs, "status", "") or "")
    sid = getattr(cs, "id", None) or getattr(cs, "name", label)
    if status == "RUNNING":
        if getattr(cs, "created", True):
            return True, "info", f"Session {label} ({sid}) is created and ready."
        return True, "info", f"Session {label} ({sid}) is already running and ready."
    if status == "PENDING":
        return False, "info", f"Session {label} ({sid}) is enqueued for scheduling."
    if status == "SCHEDULED":
        return False, "info", f"Session {label} ({sid}) is scheduled and about to be started."
    if status == "TIMEOUT":
        return False, "info", f"Session {label} ({sid}) is still on the job queue."
    if status == "TERMINATED":
        return False, "warn", f"Session {label} ({sid}) is already terminated (an error in the image?)."
    if status in ("ERROR", "CANCELLED"):
        return False, "fail", f"Session {label} ({sid}) failed during scheduling/startup or was cancelled."
    return False, "warn", f"Session {label} ({sid}) is {status or 'in an unknown state'}."
