"""Shared helpers for agent tests: configs with unique names, reading the event stream."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.common import msgpack
from ai.backend.common.events import AbstractEvent, event_class_for
from ai.backend.common.types import HostPortPair

IMAGE = "cr.backend.ai/stable/python:3.11-debian12"


def deep_update(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in patch.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            deep_update(base[k], v)
        else:
            base[k] = v
    return base


def make_config(test_id: str, etcd_addr: HostPortPair | None = None, **sections: Any) -> dict[str, Any]:
    """A validated agent config with a unique id, ephemeral ports and its own event stream."""
    return agent_config_from_dict(make_raw_config(test_id, etcd_addr, **sections))


def make_raw_config(test_id: str, etcd_addr: HostPortPair | None = None, **sections: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "etcd": {"namespace": f"test-{test_id}", "addr": str(etcd_addr or "127.0.0.1:8120")},
        "agent": {
            "id": f"test-{test_id}-{uuid.uuid4().hex[:4]}",
            "rpc-listen-addr": "127.0.0.1:0",
            "heartbeat-interval": 0.5,
            "event-stream-key": f"events-{test_id}",
            "event-broadcast-channel": f"events-{test_id}.bc",
        },
        "container": {"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 0.5},
        "resource": {"reserved-cpu": 0, "reserved-mem": "256m"},
        "dummy": {"delays": {"pull-image": 0.05, "create-kernel": 0.05, "destroy-kernel": 0.01}},
    }
    return deep_update(raw, copy.deepcopy(sections))


def kernel_config(session_id: str | None = None, *, kernel_id: str | None = None, cpu: str = "1",
                  mem: str = str(256 * 2**20), image: str = IMAGE, **extra: Any) -> dict[str, Any]:
    cfg = {
        "kernel_id": kernel_id or str(uuid.uuid4()),
        "session_id": session_id or str(uuid.uuid4()),
        "session_type": "interactive",
        "image": {"canonical": image, "architecture": "x86_64"},
        "cluster_role": "main", "cluster_idx": 1, "local_rank": 0, "cluster_hostname": "main1",
        "resource_slots": {"cpu": cpu, "mem": mem},
        "environ": {}, "mounts": [],
    }
    cfg.update(extra)
    return cfg


class EventLog:
    """Reads a test's own event stream (XRANGE), decoding events with the common catalog."""

    def __init__(self, redis: Any, stream_key: str) -> None:
        self.redis = redis
        self.stream_key = stream_key

    async def all(self) -> list[tuple[str, AbstractEvent]]:
        out: list[tuple[str, AbstractEvent]] = []
        for _id, fields in await self.redis.xrange(self.stream_key, "-", "+"):
            name = fields[b"name"].decode()
            cls = event_class_for(name)
            if cls is not None:
                out.append((fields[b"source"].decode(), cls.deserialize(msgpack.unpackb(fields[b"args"]))))
        return out

    async def names(self, pred: Callable[[AbstractEvent], bool] = lambda e: True) -> list[str]:
        return [e.name for _, e in await self.all() if pred(e)]

    async def wait_for(self, pred: Callable[[AbstractEvent], bool], timeout: float = 20.0) -> AbstractEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for _, e in await self.all():
                if pred(e):
                    return e
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching event in {self.stream_key} within {timeout}s: {await self.names()}")
            await asyncio.sleep(0.1)


def of_kernel(kernel_id: str, name: str | None = None) -> Callable[[AbstractEvent], bool]:
    return lambda e: str(getattr(e, "kernel_id", "")) == str(kernel_id) and (name is None or e.name == name)
