"""Redis connections from the cluster config (etcd `config/redis/*`) and small helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from .types import HostPortPair

# Logical databases by purpose, so one Redis serves every service without key clashes.
REDIS_STAT_DB = 0
REDIS_RLIM_DB = 1
REDIS_LIVE_DB = 2
REDIS_IMAGE_DB = 3
REDIS_STREAM_DB = 4


def connect(
    addr: HostPortPair | str,
    *,
    password: str | None = None,
    db: int = 0,
    name: str | None = None,
    socket_timeout: float | None = None,
) -> aioredis.Redis:
    hp = addr if isinstance(addr, HostPortPair) else HostPortPair.parse(addr)
    return aioredis.Redis(
        host=hp.host,
        port=hp.port,
        password=password or None,
        db=db,
        client_name=name,
        socket_timeout=socket_timeout,
        socket_connect_timeout=5.0,
        health_check_interval=30,
        decode_responses=False,
    )


def connect_from_config(redis_config: Mapping[str, Any], *, db: int = 0, name: str | None = None) -> aioredis.Redis:
    """`redis_config` is the nested dict of etcd `config/redis` ({"addr", "password"})."""
    addr = redis_config.get("addr") or "127.0.0.1:8110"
    return connect(addr, password=redis_config.get("password") or None, db=db, name=name)


async def wait_until_ready(client: aioredis.Redis, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await client.ping()
            return
        except (RedisConnectionError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
