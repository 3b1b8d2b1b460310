"""`POST /session/_/create-from-template`: a stored task template as the defaults of a creation.

The template (see session_templates) gives the image, type, environment, startup and bootstrap
scripts, resources, resource group and mounts; whatever the request itself sets wins, key by
key for the environment, resources and mount paths. The result is an ordinary `POST /session`
body, so it goes through exactly the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# request keys -> the POST /session key they mean
_ALIASES = {"callbackURL": "callback_url", "callbackUrl": "callback_url"}


def _mounts(spec: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    mounts = spec.get("mounts") or {}
    return list(mounts), {name: path for name, path in mounts.items() if path}


def template_body(template: Mapping[str, Any]) -> dict[str, Any]:
    """The POST /session body a stored template stands for."""
    spec = template.get("spec") or {}
    kernel = spec.get("kernel") or {}
    run = kernel.get("run") or {}
    mounts, mount_map = _mounts(spec)
    body: dict[str, Any] = {
        "image": kernel.get("image"),
        "architecture": kernel.get("architecture"),
        "type": spec.get("type"),
        "tag": (template.get("metadata") or {}).get("tag"),
        "bootstrap_script": run.get("bootstrap"),
        "startupCommand": run.get("startup_command"),
        "config": {
            "environ": {k: str(v) for k, v in (kernel.get("environ") or {}).items() if v is not None},
            "resources": dict(spec.get("resources") or {}),
            "scalingGroup": spec.get("scaling_group"),
            "mounts": mounts,
            "mount_map": mount_map,
        },
    }
    return {k: v for k, v in body.items() if v is not None}


def merge_request(template: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """The template's body overridden by the request's non-null values."""
    merged = template_body(template)
    for key, value in request.items():
        if key in ("config", "template_id") or value is None:
            continue
        merged[_ALIASES.get(key, key)] = value
    config = dict(merged.get("config") or {})
    given = request.get("config")
    if isinstance(given, Mapping):
        for key, value in given.items():
            if value is None or value == [] or value == {}:
                continue
            if key in ("environ", "resources", "mount_map", "resource_opts") and isinstance(value, Mapping):
                config[key] = {**(config.get(key) or {}), **value}
            elif key == "mounts" and isinstance(value, list):
                config[key] = list(dict.fromkeys([*(config.get(key) or []), *value]))
            else:
                config[key] = value
    elif given is not None:
        config = given        # let the creation checks name the bad value
    merged["config"] = config
    return merged
