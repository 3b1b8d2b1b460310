"""The body of `POST /session` as every client generation sends it, checked and normalised.

API v7 clients put most options at the top level and the container options under `config`;
older ones put clusterSize/clusterMode in `config`, call the name `clientSessionToken` and the
image `lang`. Everything is read here into one `CreationRequest`, and every bad value is refused
with a 400 that names the field (dotted path), before anything is written.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from ai.backend.common.status import ClusterMode, SessionTypes

from ..errors import InvalidAPIParameters

NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{2,62}[A-Za-z0-9])$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION_RE = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
MAX_CLUSTER_SIZE = 64
MAX_MOUNTS = 64
T = TypeVar("T")


@dataclass
class CreationRequest:
    image: str
    name: str
    session_type: SessionTypes = SessionTypes.INTERACTIVE
    tag: str | None = None
    architecture: str | None = None
    domain: str | None = None
    group: str = "default"
    owner_access_key: str | None = None
    enqueue_only: bool = False
    max_wait_seconds: int = 0
    reuse_if_exists: bool = True
    startup_command: str | None = None
    bootstrap_script: str | None = None
    batch_timeout: int | None = None
    starts_at: datetime | None = None
    callback_url: str | None = None
    dependencies: list[str] = field(default_factory=list)
    cluster_size: int = 1
    cluster_mode: ClusterMode = ClusterMode.SINGLE_NODE
    # config
    resources: dict[str, Any] = field(default_factory=dict)
    resource_opts: dict[str, Any] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    mounts: list[str] = field(default_factory=list)
    mount_map: dict[str, str] = field(default_factory=dict)
    scaling_group: str | None = None
    preopen_ports: list[int] = field(default_factory=list)


def _bad(path: str, problem: str) -> InvalidAPIParameters:
    return InvalidAPIParameters(f"{path}: {problem}", data={"field": path})


def _first(src: Mapping[str, Any], *keys: str) -> tuple[str | None, Any]:
    for key in keys:
        if key in src and src[key] is not None:
            return key, src[key]
    return None, None


def _typed(path: str, value: Any, kind: type[T] | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) and kind is not bool and not (isinstance(kind, tuple) and bool in kind):
        raise _bad(path, f"expected {what}, got {value!r}")
    if not isinstance(value, kind):
        raise _bad(path, f"expected {what}, got {type(value).__name__}")
    return value


def _bool(path: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise _bad(path, f"expected a boolean, got {value!r}")


def _int(path: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(path, f"expected an integer, got {value!r}")
    if lo is not None and value < lo:
        raise _bad(path, f"must be at least {lo}, got {value}")
    if hi is not None and value > hi:
        raise _bad(path, f"must be at most {hi}, got {value}")
    return value


def _opt_str(path: str, value: Any, *, max_len: int | None = None) -> str | None:
    if value is None:
        return None
    _typed(path, value, str, "a string")
    if max_len is not None and len(value) > max_len:
        raise _bad(path, f"must be at most {max_len} characters long")
    return str(value)


def parse_starts_at(path: str, value: Any, *, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 timestamp (naive = UTC) or a delay from now such as "30m" or "1h30m"."""
    if value is None or value == "":
        return None
    _typed(path, value, str, "an ISO 8601 time or a delay like '1h30m'")
    now = now or datetime.now(UTC)
    m = _DURATION_RE.match(value)
    if m is not None and any(m.groups()):
        d, h, mi, s = (int(x or 0) for x in m.groups())
        return now + timedelta(days=d, hours=h, minutes=mi, seconds=s)
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad(path, f"expected an ISO 8601 time or a delay like '1h30m', got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _environ(path: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    _typed(path, value, dict, "an object of {NAME: value}")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not ENV_NAME_RE.match(k):
            raise _bad(f"{path}.{k}", "not a valid environment variable name")
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise _bad(f"{path}.{k}", f"the value must be a string, got {type(v).__name__}")
        out[k] = str(v)
    return out


def _mounts(path: str, value: Any, mount_map: dict[str, str]) -> list[str]:
    """Folder names; the legacy "name:path" form adds a mount_map entry."""
    if value is None:
        return []
    _typed(path, value, list, "a list of vfolder names")
    if len(value) > MAX_MOUNTS:
        raise _bad(path, f"at most {MAX_MOUNTS} vfolders can be mounted")
    names: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _bad(f"{path}[{i}]", f"expected a vfolder name, got {item!r}")
        name, sep, target = item.partition(":")
        if sep and target:
            mount_map.setdefault(name, target)
        names.append(name)
    return names


def _mount_map(path: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    _typed(path, value, dict, "an object of {vfolder: path}")
    for k, v in value.items():
        if not isinstance(v, str):
            raise _bad(f"{path}.{k}", f"the target path must be a string, got {type(v).__name__}")
    return dict(value)


def _resources(path: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    _typed(path, value, dict, "an object of {slot: amount}")
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float) and v is not None:
            raise _bad(f"{path}.{k}", f"expected an amount, got {v!r}")
    return {k: v for k, v in value.items() if v is not None}


def _enum(path: str, value: Any, enum_cls: Callable[[str], T], choices: str) -> T:
    try:
        return enum_cls(str(value).lower())
    except ValueError:
        raise _bad(path, f"expected one of {choices}, got {value!r}") from None


def parse_creation_request(body: Mapping[str, Any]) -> CreationRequest:
    config = body.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise _bad("config", "expected an object")

    key, image = _first(body, "image", "lang")
    if image is None:
        raise _bad("image", "required (a canonical image name or an alias)")
    if not isinstance(image, str) or not image.strip():
        raise _bad(key or "image", f"expected an image name, got {image!r}")
    key, name = _first(body, "name", "clientSessionToken", "sessName")
    if name is None:
        name = f"sess-{secrets.token_hex(6)}"
    elif not isinstance(name, str) or not NAME_RE.match(name):
        raise _bad(key or "name", "4 to 64 letters, digits, '-', '_' or '.', starting and ending with a "
                                  f"letter or digit; got {name!r}")
    req = CreationRequest(image=image.strip(), name=name)

    req.tag = _opt_str("tag", body.get("tag"), max_len=64)
    key, stype = _first(body, "type", "sessionType", "session_type")
    if stype is not None:
        req.session_type = _enum(key or "type", stype, SessionTypes, "interactive, batch")
        if req.session_type == SessionTypes.INFERENCE:
            raise _bad(key or "type", "inference sessions are created through the model service API")
    req.architecture = _opt_str("architecture", body.get("architecture"), max_len=32)
    req.domain = _opt_str("domain", body.get("domain"), max_len=64)
    req.group = _opt_str("group", body.get("group"), max_len=64) or "default"
    req.owner_access_key = _opt_str("owner_access_key", body.get("owner_access_key"), max_len=20)
    if body.get("enqueueOnly") is not None:
        req.enqueue_only = _bool("enqueueOnly", body["enqueueOnly"])
    if body.get("maxWaitSeconds") is not None:
        req.max_wait_seconds = _int("maxWaitSeconds", body["maxWaitSeconds"], lo=0, hi=24 * 3600)
    if body.get("reuseIfExists") is not None:
        req.reuse_if_exists = _bool("reuseIfExists", body["reuseIfExists"])
    key, cmd = _first(body, "startupCommand", "startup_command")
    req.startup_command = _opt_str(key or "startupCommand", cmd)
    if req.session_type == SessionTypes.BATCH and not (req.startup_command or "").strip():
        raise _bad("startupCommand", "a batch session needs a startup command")
    req.bootstrap_script = _opt_str("bootstrap_script", body.get("bootstrap_script"))
    if body.get("batchTimeout") is not None:
        req.batch_timeout = _int("batchTimeout", body["batchTimeout"], lo=1)
    req.starts_at = parse_starts_at("starts_at", body.get("starts_at"))
    req.callback_url = _opt_str("callback_url", body.get("callback_url"), max_len=2048)
    if req.callback_url and not re.match(r"^https?://[^\s/]+", req.callback_url):
        raise _bad("callback_url", f"expected an http(s) URL, got {req.callback_url!r}")

    deps = body.get("dependencies")
    if deps is not None:
        _typed("dependencies", deps, list, "a list of session names or ids")
        for i, d in enumerate(deps):
            if not isinstance(d, str) or not d:
                raise _bad(f"dependencies[{i}]", f"expected a session name or id, got {d!r}")
        req.dependencies = list(dict.fromkeys(deps))

    key, size = _first(body, "clusterSize", "cluster_size")
    ckey, csize = _first(config, "clusterSize", "cluster_size")
    if size is None and csize is not None:
        key, size = f"config.{ckey}", csize
    if size is not None:
        req.cluster_size = _int(key or "clusterSize", size, lo=1, hi=MAX_CLUSTER_SIZE)
    key, mode = _first(body, "clusterMode", "cluster_mode")
    ckey, cmode = _first(config, "clusterMode", "cluster_mode")
    if mode is None and cmode is not None:
        key, mode = f"config.{ckey}", cmode
    if mode is not None:
        req.cluster_mode = _enum(key or "clusterMode", mode, ClusterMode, "single-node, multi-node")

    req.mount_map = _mount_map("config.mount_map", config.get("mount_map") or config.get("mountMap"))
    req.mounts = _mounts("config.mounts", config.get("mounts"), req.mount_map)
    req.environ = _environ("config.environ", config.get("environ"))
    req.resources = _resources("config.resources", config.get("resources"))
    _legacy_resources(config, req.resources)
    opts = config.get("resource_opts") or config.get("resourceOpts")
    if opts is not None:
        _typed("config.resource_opts", opts, dict, "an object")
        req.resource_opts = dict(opts)
    key, sgroup = _first(config, "scalingGroup", "scaling_group")
    if sgroup is None:
        key, sgroup = _first(body, "scalingGroup", "scaling_group")
    req.scaling_group = _opt_str(f"config.{key}" if key else "config.scalingGroup", sgroup, max_len=64)
    ports = config.get("preopen_ports") or config.get("preopenPorts")
    if ports is not None:
        _typed("config.preopen_ports", ports, list, "a list of port numbers")
        req.preopen_ports = [_int(f"config.preopen_ports[{i}]", p, lo=1024, hi=65535)
                             for i, p in enumerate(ports)]
    return req


def _legacy_resources(config: Mapping[str, Any], resources: dict[str, Any]) -> None:
    """instanceMemory (MiB) / instanceCores / instanceGPUs from before v4.20190315."""
    if config.get("instanceMemory") is not None and "mem" not in resources:
        resources["mem"] = f"{_int('config.instanceMemory', config['instanceMemory'], lo=1)}m"
    if config.get("instanceCores") is not None and "cpu" not in resources:
        resources["cpu"] = _int("config.instanceCores", config["instanceCores"], lo=1)
    gpus = config.get("instanceGPUs")
    if gpus is not None and "cuda.device" not in resources:
        if isinstance(gpus, bool) or not isinstance(gpus, int | float):
            raise _bad("config.instanceGPUs", f"expected a number, got {gpus!r}")
        resources["cuda.device"] = gpus
