"""The root context a running manager builds: backing services and the configured lock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ai.backend.common.lock import FileLock, PgAdvisoryLock
from ai.backend.manager.context import root_context


async def test_root_context_connects_everything(local_config: dict[str, Any], db_engine: Any,
                                                cluster_etcd: Any, tmp_path: Path) -> None:
    async with root_context(local_config) as ctx:
        assert await ctx.redis.stream.ping()
        assert ctx.namespace == cluster_etcd.namespace
        assert ctx.event_producer.stream_key == local_config["manager"]["event-stream-key"]
        lock = ctx.distributed_lock("schedule")
        assert isinstance(lock, PgAdvisoryLock)
        async with lock:
            other = ctx.distributed_lock("schedule", timeout=0.3)
            try:
                async with other:
                    raise AssertionError("the advisory lock must be exclusive")
            except TimeoutError:
                pass
    local_config["manager"]["distributed-lock"] = "filelock"
    local_config["manager"]["lock-dir"] = tmp_path
    async with root_context(local_config) as ctx:
        lock = ctx.distributed_lock("schedule")
        assert isinstance(lock, FileLock) and lock.path.parent == tmp_path
        async with lock:
            assert lock.is_locked
    await asyncio.sleep(0)


async def test_missing_redis_config_is_a_clear_error(local_config: dict[str, Any], etcd: Any) -> None:
    from ai.backend.common.config import ConfigError

    try:
        async with root_context(local_config):
            raise AssertionError("must not start without config/redis/addr")
    except ConfigError as e:
        assert "config/redis/addr is not set" in str(e) and etcd.namespace in str(e)
