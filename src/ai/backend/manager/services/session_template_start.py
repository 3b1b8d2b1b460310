"""Turn a stored session template plus the request's overrides into a session-creation body
(the same shape `POST /session` takes), so creation itself follows one path."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

_CONFIG_KEYS = ("mounts", "mount_map", "environ", "resources", "resource_opts", "scalingGroup", "preopen_ports")


def _git_bootstrap(git: Mapping[str, Any]) -> str:
    repo = str(git["repository"])
    dest = git.get("destinationDir") or git.get("destination_dir") or "/home/work/" + repo.rstrip("/").split("/")[-1]
    cmd = ["git", "clone"]
    if git.get("branch"):
        cmd += ["-b", str(git["branch"])]
    line = " ".join(shlex.quote(c) for c in [*cmd, repo, str(dest)])
    if git.get("commit"):
        line += f" && git -C {shlex.quote(str(dest))} checkout {shlex.quote(str(git['commit']))}"
    return line


def template_to_body(template: Mapping[str, Any]) -> dict[str, Any]:
    spec = template["spec"]
    kernel = spec["kernel"]
    run = kernel.get("run") or {}
    config: dict[str, Any] = {}
    if kernel.get("environ"):
        config["environ"] = {k: "" if v is None else str(v) for k, v in kernel["environ"].items()}
    if spec.get("resources"):
        config["resources"] = dict(spec["resources"])
    if spec.get("scaling_group"):
        config["scalingGroup"] = spec["scaling_group"]
    mounts = spec.get("mounts") or {}
    if mounts:
        config["mounts"] = list(mounts)
        config["mount_map"] = {name: path for name, path in mounts.items() if path}
    body: dict[str, Any] = {"image": kernel["image"], "type": spec.get("type", "interactive"), "config": config}
    if kernel.get("architecture"):
        body["architecture"] = kernel["architecture"]
    if template.get("metadata", {}).get("tag"):
        body["tag"] = template["metadata"]["tag"]
    if run.get("startup_command"):
        body["startupCommand"] = run["startup_command"]
    bootstrap = [s for s in (run.get("bootstrap"), _git_bootstrap(kernel["git"]) if kernel.get("git") else None) if s]
    if bootstrap:
        body["bootstrap_script"] = "\n".join(bootstrap)
    return body


def merge_overrides(body: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Request values win over the template's; None means "not given"."""
    merged = dict(body)
    for key, value in overrides.items():
        if key in ("template_id", "config") or value is None:
            continue
        merged[key] = value
    config = dict(body.get("config") or {})
    for key, value in (overrides.get("config") or {}).items():
        if key in _CONFIG_KEYS and value is not None and value != {} and value != []:
            config[key] = value
    merged["config"] = config
    return merged
