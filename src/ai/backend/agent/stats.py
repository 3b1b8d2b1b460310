"""Live statistics of kernels and of the node, published to Redis for the manager.

Layout (Redis logical db REDIS_STAT_DB): key = kernel id (or agent id), value = msgpack of
{metric: {"current": str, "capacity": str | None, "unit_hint": str, ...}}, expiring unless
refreshed, so stale numbers vanish by themselves when an agent stops.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import psutil
import redis.asyncio as aioredis

from ai.backend.common import msgpack

KEEP_AFTER_TERMINATION = 120


def metric(current: Any, unit_hint: str, capacity: Any = None, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "current": str(Decimal(str(current))),
        "capacity": None if capacity is None else str(Decimal(str(capacity))),
        "unit_hint": unit_hint,
    }
    for k, v in extra.items():
        m[f"stats.{k}"] = None if v is None else str(Decimal(str(v)))
    return m


def node_stat() -> dict[str, Any]:
    vm = psutil.virtual_memory()
    return {
        "cpu_util": metric(psutil.cpu_percent(interval=None), "percent", (psutil.cpu_count() or 1) * 100),
        "mem": metric(vm.total - vm.available, "bytes", vm.total),
        "last_updated": time.time(),
    }


class StatPublisher:
    def __init__(self, redis: aioredis.Redis, *, ttl: float = 60.0) -> None:
        self.redis = redis
        self.ttl = int(max(ttl, 1))

    async def publish_kernel(self, kernel_id: Any, stat: dict[str, Any]) -> None:
        await self.redis.set(str(kernel_id), msgpack.packb(stat), ex=self.ttl)

    async def publish_node(self, agent_id: str, stat: dict[str, Any]) -> None:
        await self.redis.set(str(agent_id), msgpack.packb(stat), ex=self.ttl)

    async def forget_kernel(self, kernel_id: Any) -> None:
        # keep the final numbers readable for a while after termination
        await self.redis.expire(str(kernel_id), KEEP_AFTER_TERMINATION)

    async def read(self, key: Any) -> dict[str, Any] | None:
        raw: Any = await self.redis.get(str(key))
        return None if raw is None else msgpack.unpackb(raw)
