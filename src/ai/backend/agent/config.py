"""agent.toml: the sections the install guide documents, validated with readable errors.

Every key has a default except what cannot be guessed, so a small file works; unknown keys
are tolerated (the manual's sample carries [watcher] and more that this agent ignores).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

import trafaret as t

from ai.backend.common.config import (
    BinarySizeTrafaret,
    HostPortPairTrafaret,
    PathTrafaret,
    PortRangeTrafaret,
    check,
    etcd_config_iv,
    load_config,
    logging_config_iv,
)
from ai.backend.common.types import HostPortPair

_float_pos = t.ToFloat(gte=0)


class ListenAddrTrafaret(t.Trafaret):
    """host:port like HostPortPairTrafaret, but port 0 (pick a free port) is allowed."""

    def check_and_return(self, value: Any) -> HostPortPair:
        if isinstance(value, HostPortPair):
            return value
        try:
            addr = HostPortPair.parse(value)
        except (ValueError, TypeError, KeyError):
            raise t.DataError("expected {host = ..., port = ...} or 'host:port'", value=value, trafaret=self) from None
        if not 0 <= addr.port < 65536:
            raise t.DataError(f"port out of range: {addr.port}", value=value, trafaret=self)
        return addr


agent_section_iv = t.Dict({
    t.Key("mode", default="docker"): t.Enum("docker", "dummy"),
    t.Key("rpc-listen-addr", default="0.0.0.0:6001"): ListenAddrTrafaret(),
    # Where the manager reaches this agent; defaults to rpc-listen-addr (or the host name).
    t.Key("advertised-rpc-addr", default=None): t.Null | HostPortPairTrafaret(),
    t.Key("id", default=None): t.Null | t.Regexp(r"^[A-Za-z0-9._:-]{1,64}$"),
    t.Key("region", default="local"): t.String,
    t.Key("scaling-group", default="default"): t.String,
    t.Key("pid-file", default=None): t.Null | PathTrafaret(),
    t.Key("event-loop", default="asyncio"): t.Enum("asyncio", "uvloop"),
    t.Key("allow-compute-plugins", default=None): t.Null | t.List(t.String),
    t.Key("allowed-compute-plugins", default=None): t.Null | t.List(t.String),
    t.Key("block-compute-plugins", default=[]): t.List(t.String),
    t.Key("heartbeat-interval", default=3.0): t.ToFloat(gte=0.05),
    t.Key("kernel-start-timeout", default=60.0): t.ToFloat(gte=1),
    t.Key("image-pull-timeout", default=900.0): t.ToFloat(gte=1),
    t.Key("rpc-timeout", default=300.0): t.ToFloat(gte=1),
    t.Key("terminated-retention", default=300.0): _float_pos,
    t.Key("execute-flush-timeout", default=2.0): t.ToFloat(gte=0),
    # The event bus names (common.events defaults); change them only together with the manager's.
    t.Key("event-stream-key", default="events"): t.String,
    t.Key("event-broadcast-channel", default="events.broadcast"): t.String,
}).allow_extra("*")

container_section_iv = t.Dict({
    # [first, last], or "auto" to let dockerd pick free ephemeral host ports.
    t.Key("port-range", default=[30000, 31000]): PortRangeTrafaret() | t.Atom("auto"),
    t.Key("kernel-uid", default=1100): t.ToInt[1:],
    t.Key("kernel-gid", default=1100): t.ToInt[1:],
    t.Key("bind-host", default="0.0.0.0"): t.String,
    t.Key("advertised-host", default=None): t.Null | t.String,
    t.Key("stats-type", default="cgroup"): t.Enum("cgroup", "docker"),
    t.Key("stats-interval", default=5.0): t.ToFloat(gte=0.1),
    t.Key("sandbox-type", default="docker"): t.Enum("docker"),
    t.Key("jail-args", default=[]): t.List(t.String),
    t.Key("scratch-type", default="hostdir"): t.Enum("hostdir"),
    t.Key("scratch-root", default="./scratches"): PathTrafaret(),
    t.Key("scratch-size", default="0"): BinarySizeTrafaret(),
    t.Key("krunner-path", default=None): t.Null | PathTrafaret(),
    t.Key("krunner-version", default="4.4.0"): t.String,
    t.Key("default-shmem", default="64m"): BinarySizeTrafaret(),
}).allow_extra("*")

resource_section_iv = t.Dict({
    t.Key("reserved-cpu", default=1): t.ToInt[0:],
    t.Key("reserved-mem", default="1G"): BinarySizeTrafaret(),
    t.Key("reserved-disk", default="8G"): BinarySizeTrafaret(),
    t.Key("allocation-strategy", default="fill"): t.Enum("fill", "evenly"),
}).allow_extra("*")

debug_section_iv = t.Dict({
    t.Key("enabled", default=False): t.Bool,
    t.Key("skip-container-deletion", default=False): t.Bool,
    t.Key("log-events", default=False): t.Bool,
    t.Key("log-heartbeats", default=False): t.Bool,
    t.Key("log-kernel-config", default=False): t.Bool,
    t.Key("log-stats", default=False): t.Bool,
}).allow_extra("*")

_probability = t.ToFloat(gte=0, lte=1)

dummy_section_iv = t.Dict({
    t.Key("delays", default={}): t.Dict({
        t.Key("prepare", default=0.0): _float_pos,
        t.Key("pull-image", default=0.5): _float_pos,
        t.Key("create-kernel", default=0.2): _float_pos,
        t.Key("destroy-kernel", default=0.1): _float_pos,
        t.Key("restart-kernel", default=0.2): _float_pos,
        t.Key("execute", default=0.0): _float_pos,
        t.Key("other-ops", default=0.0): _float_pos,
    }),
    t.Key("failures", default={}): t.Dict({
        t.Key("pull-image", default=0.0): _probability,
        t.Key("create-kernel", default=0.0): _probability,
        t.Key("destroy-kernel", default=0.0): _probability,
        t.Key("execute", default=0.0): _probability,
    }),
    t.Key("resources", default={}): t.Dict({
        t.Key("cpu", default=8): t.ToInt[1:],
        t.Key("mem", default="32g"): BinarySizeTrafaret(),
        # extra COUNT slots, e.g. {"cuda.device" = 4}
        t.Key("slots", default={}): t.Mapping(t.Regexp(r"^[a-z][a-z0-9_-]*\.[a-z0-9_-]+$"), t.ToFloat(gte=0)),
    }),
    # images the simulated agent "has"; others are "pulled" (pull-image delay/failure)
    t.Key("images", default=["cr.backend.ai/stable/python:3.11-debian12"]): t.List(t.String),
    t.Key("seed", default=None): t.Null | t.ToInt,
}).allow_extra("*")

agent_local_config_iv = t.Dict({
    t.Key("etcd", default={}): etcd_config_iv,
    t.Key("agent", default={}): agent_section_iv,
    t.Key("container", default={}): container_section_iv,
    t.Key("resource", default={}): resource_section_iv,
    t.Key("plugins", default={}): t.Mapping(t.String, t.Mapping(t.String, t.Any)),
    t.Key("dummy", default={}): dummy_section_iv,
    # Only used when etcd has no config/redis/addr (e.g. before the manager set the cluster up).
    t.Key("redis", default=None): t.Null | t.Dict({
        t.Key("addr"): HostPortPairTrafaret(),
        t.Key("password", default=""): t.String(allow_blank=True),
    }),
    t.Key("logging", default={}): logging_config_iv,
    t.Key("debug", default={}): debug_section_iv,
}).allow_extra("*")


def finalize(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived values (agent id, advertised addresses, plugin list)."""
    agent = cfg["agent"]
    if agent["id"] is None:
        agent["id"] = f"i-{socket.gethostname()}"
    plugins = agent.get("allow-compute-plugins")
    if plugins is None:
        plugins = agent.get("allowed-compute-plugins")
    agent["allow-compute-plugins"] = list(plugins or [])
    container = cfg["container"]
    if container["advertised-host"] is None:
        host = container["bind-host"]
        container["advertised-host"] = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if agent["advertised-rpc-addr"] is None:
        listen: HostPortPair = agent["rpc-listen-addr"]
        host = listen.host if listen.host not in ("0.0.0.0", "::", "") else container["advertised-host"]
        agent["advertised-rpc-addr"] = HostPortPair(host, listen.port)
    return cfg


def load_agent_config(path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return finalize(load_config("agent", agent_local_config_iv, path, overrides))


def agent_config_from_dict(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an in-memory config (tests, simulated fleets)."""
    return finalize(check(agent_local_config_iv, dict(raw)))
