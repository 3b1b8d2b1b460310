"""The manager's local configuration (manager.toml) and the cluster-wide keys it reads from etcd.

manager.toml holds what is specific to this host: how to reach etcd and PostgreSQL, where
to listen, how many worker processes to run. Everything shared by the cluster (the Redis
address, container registries, resource slot types, the manager status and announcement)
lives in etcd under /sorna/{namespace}/.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trafaret as t

from ai.backend.common.config import (
    ConfigError,
    HostPortPairTrafaret,
    PathTrafaret,
    check,
    debug_config_iv,
    etcd_config_iv,
    load_config,
    logging_config_iv,
)
from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.types import HostPortPair, SlotTypes

_default_pid_file = Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / "backend.ai" / "manager.pid"

db_config_iv = t.Dict({
    t.Key("type", default="postgresql"): t.Enum("postgresql"),
    t.Key("addr"): HostPortPairTrafaret(),
    t.Key("name"): t.String(max_length=64),
    t.Key("user"): t.String,
    t.Key("password", default=""): t.String(allow_blank=True),
    t.Key("pool-size", default=8): t.ToInt[1:],
    t.Key("max-overflow", default=16): t.ToInt[0:],
}).allow_extra("*")

manager_config_iv = t.Dict({
    t.Key("id", default=None): t.Null | t.String,
    t.Key("num-proc", default=1): t.ToInt[1:],
    t.Key("service-addr", default="0.0.0.0:8081"): HostPortPairTrafaret(),
    t.Key("user", default=None): t.Null | t.String | t.ToInt,
    t.Key("group", default=None): t.Null | t.String | t.ToInt,
    t.Key("ssl-enabled", default=False): t.ToBool,
    t.Key("ssl-cert", default=None): t.Null | PathTrafaret(must_exist=True),
    t.Key("ssl-privkey", default=None): t.Null | PathTrafaret(must_exist=True),
    t.Key("heartbeat-timeout", default=40.0): t.ToFloat[1:],
    t.Key("pid-file", default=str(_default_pid_file)): PathTrafaret(),
    t.Key("disabled-plugins", default=[]): t.List(t.String),
    t.Key("hide-agents", default=False): t.ToBool,
    t.Key("event-loop", default="asyncio"): t.Enum("asyncio", "uvloop"),
    t.Key("distributed-lock", default="pg_advisory"): t.Enum("pg_advisory", "filelock"),
    t.Key("lock-dir", default="/tmp/backend.ai/manager-locks"): PathTrafaret(),
    # Requests per 15 minutes for anonymous callers (per client IP); keypairs have their own.
    t.Key("anonymous-rate-limit", default=3000): t.ToInt[1:],
    t.Key("max-request-size", default="1m"): t.String,
    # The event bus (Redis stream + pub/sub channel); must match every agent's agent.toml.
    t.Key("event-stream-key", default="events"): t.String,
    t.Key("event-broadcast-channel", default="events.broadcast"): t.String,
}).allow_extra("*")

# The scheduler loop and the session lifecycle (see scheduler/dispatcher.py): how often it
# ticks and how long a session may stay in each non-terminal status before it fails.
scheduler_config_iv = t.Dict({
    t.Key("tick-interval", default=2.0): t.ToFloat(gte=0.05),       # periodic pass + re-drive
    t.Key("redrive-interval", default=5.0): t.ToFloat(gte=0.05),    # between re-drives of one step
    t.Key("rpc-timeout", default=30.0): t.ToFloat(gte=0.1),         # per agent call
    t.Key("lost-check-interval", default=5.0): t.ToFloat(gte=0.05),
    t.Key("policy-check-interval", default=5.0): t.ToFloat(gte=0.05),   # idle/lifetime checks
    t.Key("deadlines", default={}): t.Dict({
        t.Key("SCHEDULED", default=120.0): t.ToFloat(gte=0.1),
        t.Key("PREPARING", default=900.0): t.ToFloat(gte=0.1),
        t.Key("PULLING", default=900.0): t.ToFloat(gte=0.1),
        t.Key("PREPARED", default=120.0): t.ToFloat(gte=0.1),
        t.Key("CREATING", default=300.0): t.ToFloat(gte=0.1),
        t.Key("RESTARTING", default=300.0): t.ToFloat(gte=0.1),
        t.Key("TERMINATING", default=300.0): t.ToFloat(gte=0.1),
    }),
}).allow_extra("*")

docker_registry_config_iv = t.Dict({
    t.Key("ssl-verify", default=True): t.ToBool,
}).allow_extra("*")

manager_local_config_iv = t.Dict({
    t.Key("etcd"): etcd_config_iv,
    t.Key("db"): db_config_iv,
    t.Key("manager", default={}): manager_config_iv,
    t.Key("docker-registry", default={}): docker_registry_config_iv,
    t.Key("scheduler", default={}): scheduler_config_iv,
    t.Key("logging", default={}): logging_config_iv,
    t.Key("debug", default={}): debug_config_iv,
}).allow_extra("*")


def load(path: str | os.PathLike[str] | None = None, *, debug: bool = False) -> dict[str, Any]:
    """Find and validate manager.toml; ConfigError names the offending key."""
    cfg = load_config("manager", manager_local_config_iv, path)
    _finish(cfg, debug=debug)
    return cfg


def from_dict(raw: Mapping[str, Any], *, debug: bool = False) -> dict[str, Any]:
    """Validate a config given as a dict (tests and embedding)."""
    cfg = check(manager_local_config_iv, dict(raw))
    _finish(cfg, debug=debug)
    return cfg


def _finish(cfg: dict[str, Any], *, debug: bool) -> None:
    if debug:
        cfg["debug"]["enabled"] = True
    mgr = cfg["manager"]
    if mgr["id"] is None:
        mgr["id"] = f"i-{socket.gethostname()}"
    if mgr["ssl-enabled"] and not (mgr["ssl-cert"] and mgr["ssl-privkey"]):
        raise ConfigError("invalid configuration: manager.ssl-cert and manager.ssl-privkey are required when ssl-enabled")


# --- cluster-wide configuration in etcd ------------------------------------------------------

INTRINSIC_SLOTS: dict[str, SlotTypes] = {"cpu": SlotTypes.COUNT, "mem": SlotTypes.BYTES}


class SharedConfig:
    """Typed access to the etcd keys the manager reads; every read goes to etcd (no stale caches
    across manager processes)."""

    def __init__(self, etcd: AsyncEtcd) -> None:
        self.etcd = etcd

    async def get_redis_config(self) -> dict[str, Any]:
        raw = await self.etcd.get_prefix("config/redis")
        addr = raw.get("addr")
        if not addr or not isinstance(addr, str):
            raise ConfigError(
                f"etcd key config/redis/addr is not set in namespace {self.etcd.namespace!r}; "
                "set it with: backend.ai mgr etcd put config/redis/addr 127.0.0.1:8110"
            )
        try:
            parsed = HostPortPair.parse(addr)
        except ValueError:
            raise ConfigError(f"etcd key config/redis/addr is not host:port: {addr!r}") from None
        password = raw.get("password") or None
        return {"addr": parsed, "password": password if isinstance(password, str) else None}

    async def get_resource_slots(self) -> dict[str, SlotTypes]:
        """Known slot types: the intrinsic cpu/mem plus what agents registered in etcd."""
        slots = dict(INTRINSIC_SLOTS)
        for name, value in (await self.etcd.get_prefix("config/resource_slots")).items():
            if isinstance(value, str) and value in SlotTypes._value2member_map_:
                slots[name] = SlotTypes(value)
        return slots

    async def get_docker_registries(self) -> dict[str, dict[str, Any]]:
        """{registry name: {"": url, "type": ..., "project": ..., "username": ...}}."""
        raw = await self.etcd.get_prefix("config/docker/registry")
        out: dict[str, dict[str, Any]] = {}
        for name, value in raw.items():
            if isinstance(value, str):
                out[name] = {"": value}
            elif isinstance(value, dict):
                out[name] = value
        return out

    async def get_vfolder_types(self) -> list[str]:
        types = await self.etcd.get_prefix("volumes/_types")
        return sorted(types.keys()) or ["user"]

    async def get_manager_status(self) -> str:
        return (await self.etcd.get("manager/status")) or "running"

    async def set_manager_status(self, status: str) -> None:
        await self.etcd.put("manager/status", status)

    async def get_announcement(self) -> dict[str, Any]:
        raw = await self.etcd.get_prefix("manager/announcement")
        message = raw.get("message") if isinstance(raw.get("message"), str) else ""
        return {"enabled": raw.get("enabled") == "true" and bool(message), "message": message or ""}

    async def set_announcement(self, enabled: bool, message: str) -> None:
        await self.etcd.put_dict({
            "manager/announcement/enabled": "true" if enabled else "false",
            "manager/announcement/message": message if enabled else "",
        })
