"""Pure functions that turn a KernelCreationConfig into a Docker container definition.

Labels identify the kernel and its owning agent, so a restarted agent adopts exactly its own
containers (several agents may share one dockerd) and can rebuild its registry from them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ai.backend.common.agent_types import ClusterInfo, KernelCreationConfig, ServicePort

from ..exceptions import InvalidArgument

REPL_IN_PORT = 2000
REPL_OUT_PORT = 2001
TTYD_PORT = 7681
RESERVED_PORTS = frozenset({2000, 2001, 2002, 2003, 2200, 7681})
WORKDIR = "/home/work"
CONFIG_DIR = "/home/config"
KRUNNER_MOUNT = "/opt/backend.ai"

LABEL_KERNEL_ID = "ai.backend.kernel-id"
LABEL_SESSION_ID = "ai.backend.session-id"
LABEL_AGENT_ID = "ai.backend.agent-id"
LABEL_CLUSTER_ROLE = "ai.backend.cluster-role"
LABEL_CLUSTER_IDX = "ai.backend.cluster-idx"
LABEL_CLUSTER_HOST = "ai.backend.cluster-hostname"
LABEL_KERNEL_CONFIG = "ai.backend.kernel-config"        # the creation config minus secrets
LABEL_RESOURCE_SPEC = "ai.backend.resource-spec"
LABEL_SERVICE_PORTS = "ai.backend.kernel-service-ports"  # (the image's own label is "service-ports")
LABEL_NETWORK = "ai.backend.cluster-network"

_SERVICE_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*):(?P<proto>tcp|http|pty):(?P<port>\d+)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_FIELDS = ("environ", "bootstrap_script", "internal_data")


def parse_service_ports(label: str | None) -> list[ServicePort]:
    """The image's ai.backend.service-ports label: "name:protocol:port,..."."""
    ports: list[ServicePort] = []
    for item in (label or "").split(","):
        item = item.strip()
        if not item:
            continue
        m = _SERVICE_RE.match(item)
        if m is None:
            raise InvalidArgument(f"invalid service port declaration {item!r} (expected name:tcp|http|pty:port)")
        port = int(m.group("port"))
        if port in RESERVED_PORTS or not 0 < port < 65536:
            raise InvalidArgument(f"service {m.group('name')} uses reserved or invalid port {port}")
        ports.append({"name": m.group("name"), "protocol": m.group("proto"),  # type: ignore[typeddict-item]
                      "container_ports": [port], "host_ports": []})
    return ports


def service_ports_for(image_labels: Mapping[str, str], preopen_ports: Sequence[int] = ()) -> list[ServicePort]:
    ports = parse_service_ports(image_labels.get("ai.backend.service-ports"))
    names = {p["name"] for p in ports}
    if "ttyd" not in names:
        ports.append({"name": "ttyd", "protocol": "http", "container_ports": [TTYD_PORT], "host_ports": []})
    used = {cp for p in ports for cp in p["container_ports"]}
    for port in preopen_ports:
        port = int(port)
        if port in RESERVED_PORTS or port in used or not 1024 <= port < 65536:
            raise InvalidArgument(f"preopen port {port} is reserved, duplicated or out of range (1024-65535)")
        used.add(port)
        ports.append({"name": str(port), "protocol": "preopen", "container_ports": [port], "host_ports": []})
    return ports


def cluster_hosts(cluster_info: ClusterInfo | None, config: KernelCreationConfig) -> list[str]:
    ci: Mapping[str, Any] = cluster_info or {}
    replicas = ci.get("replicas") or {config.get("cluster_role", "main"): 1}
    roles = sorted(replicas, key=lambda r: (r != "main", r))
    return [f"{role}{i}" for role in roles for i in range(1, int(replicas[role]) + 1)]


def cluster_environ(config: KernelCreationConfig, cluster_info: ClusterInfo | None) -> dict[str, str]:
    """The BACKENDAI_CLUSTER_* variables of the manual's "Detection of clustered setups"."""
    hosts = cluster_hosts(cluster_info, config)
    ci: Mapping[str, Any] = cluster_info or {}
    replicas = ci.get("replicas") or {config.get("cluster_role", "main"): 1}
    roles = sorted(replicas, key=lambda r: (r != "main", r))
    return {
        "BACKENDAI_CLUSTER_SIZE": str(ci.get("size") or len(hosts)),
        "BACKENDAI_CLUSTER_HOSTS": ",".join(hosts),
        "BACKENDAI_CLUSTER_REPLICAS": ",".join(f"{r}:{replicas[r]}" for r in roles),
        "BACKENDAI_CLUSTER_HOST": config.get("cluster_hostname") or f"{config.get('cluster_role', 'main')}{config.get('cluster_idx', 1)}",
        "BACKENDAI_CLUSTER_IDX": str(config.get("cluster_idx", 1)),
        "BACKENDAI_CLUSTER_ROLE": config.get("cluster_role", "main"),
        "BACKENDAI_CLUSTER_LOCAL_RANK": str(config.get("local_rank", 0)),
    }


def kernel_environ(
    config: KernelCreationConfig,
    cluster_info: ClusterInfo | None,
    image_labels: Mapping[str, str],
    *,
    cores: int,
    uid: int,
    gid: int,
    plugin_env: Mapping[str, str],
) -> dict[str, str]:
    env: dict[str, str] = {}
    for k, v in (config.get("environ") or {}).items():
        if not _ENV_NAME.match(str(k)):
            raise InvalidArgument(f"invalid environment variable name {k!r}")
        env[str(k)] = str(v)
    env.update({
        "HOME": WORKDIR, "USER": "work", "LOGNAME": "work", "SHELL": "/bin/bash",
        "TERM": "xterm", "LANG": env.get("LANG", "C.UTF-8"),
        "LOCAL_USER_ID": str(uid), "LOCAL_GROUP_ID": str(gid),
        "BACKENDAI_KERNEL_ID": str(config["kernel_id"]),
        "BACKENDAI_SESSION_ID": str(config["session_id"]),
        "BACKENDAI_SESSION_TYPE": str(config.get("session_type", "interactive")),
        "BACKENDAI_KERNEL_IMAGE": config["image"]["canonical"],
    })
    env.update(cluster_environ(config, cluster_info))
    for name in (image_labels.get("ai.backend.envs.corecount") or "").split(","):
        name = name.strip()
        if name and _ENV_NAME.match(name):
            env[name] = str(cores)
    env.update(plugin_env)
    return env


def public_config(config: KernelCreationConfig) -> dict[str, Any]:
    """The creation config without secrets, kept in a container label for restarts."""
    return {k: v for k, v in config.items() if k not in _SECRET_FIELDS}


def kernel_labels(
    config: KernelCreationConfig,
    *,
    agent_id: str,
    resource_spec: Mapping[str, Any],
    service_ports: Sequence[ServicePort],
    network: str | None,
) -> dict[str, str]:
    labels = {
        LABEL_KERNEL_ID: str(config["kernel_id"]),
        LABEL_SESSION_ID: str(config["session_id"]),
        LABEL_AGENT_ID: agent_id,
        LABEL_CLUSTER_ROLE: str(config.get("cluster_role", "main")),
        LABEL_CLUSTER_IDX: str(config.get("cluster_idx", 1)),
        LABEL_CLUSTER_HOST: str(config.get("cluster_hostname", "main1")),
        LABEL_KERNEL_CONFIG: json.dumps(public_config(config), default=str),
        LABEL_RESOURCE_SPEC: json.dumps(resource_spec),
        LABEL_SERVICE_PORTS: json.dumps([
            {"name": p["name"], "protocol": p["protocol"], "container_ports": list(p["container_ports"])}
            for p in service_ports
        ]),
    }
    if network:
        labels[LABEL_NETWORK] = network
    return labels


def validate_mounts(mounts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """vfolder mounts as Docker bind mounts; paths must be absolute and free of '..'."""
    out: list[dict[str, Any]] = []
    for m in mounts or []:
        host, target, perm = str(m.get("host_path", "")), str(m.get("kernel_path", "")), m.get("permission", "ro")
        for p in (host, target):
            if not p.startswith("/") or ".." in Path(p).parts:
                raise InvalidArgument(f"mount paths must be absolute without '..': {p!r}")
        if target in ("/", WORKDIR, CONFIG_DIR) or target.startswith(KRUNNER_MOUNT):
            raise InvalidArgument(f"cannot mount over {target}")
        if perm not in ("ro", "rw", "wd"):
            raise InvalidArgument(f"invalid mount permission {perm!r}")
        if not Path(host).exists():
            raise InvalidArgument(f"mount source {host} does not exist on this agent")
        out.append({"Type": "bind", "Source": host, "Target": target, "ReadOnly": perm == "ro"})
    return out


def port_bindings(bind_host: str, container_ports: Sequence[int], host_ports: Sequence[int | None]) -> dict[str, list[dict[str, str]]]:
    return {
        f"{cp}/tcp": [{"HostIp": bind_host, "HostPort": "" if hp is None else str(hp)}]
        for cp, hp in zip(container_ports, host_ports, strict=True)
    }


def runner_command(*, uid: int, gid: int, runtime_type: str, runtime_path: str | None) -> list[str]:
    cmd = [f"{KRUNNER_MOUNT}/bin/python3", "-I", "-B", "-m", "ai.backend.kernel",
           "--uid", str(uid), "--gid", str(gid), "--runtime-type", runtime_type,
           "--workdir", WORKDIR, "--config-dir", CONFIG_DIR]
    if runtime_path:
        cmd += ["--runtime-path", runtime_path]
    return cmd
