"""The per-process root context every handler and service reaches the backing services through.

One RootContext exists per worker process. It is built by `root_context()` when the aiohttp
app starts and torn down in reverse order when it stops. Handlers get it with
`request.app[ROOT_CTX]` (see api.utils.root_ctx).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common import redis_helper
from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.events import EventDispatcher, EventProducer
from ai.backend.common.lock import AbstractDistributedLock, FileLock, PgAdvisoryLock

from .agent_client import AgentRPCPool
from .config import SharedConfig
from .models.dbutils import create_engine, url_from_config

log = logging.getLogger(__name__)


@dataclass
class RedisClients:
    """One client per logical database (see common.redis_helper)."""

    stat: aioredis.Redis
    rlim: aioredis.Redis
    live: aioredis.Redis
    image: aioredis.Redis
    stream: aioredis.Redis

    def all(self) -> list[aioredis.Redis]:
        return [self.stat, self.rlim, self.live, self.image, self.stream]


@dataclass
class RootContext:
    local_config: dict[str, Any]
    etcd: AsyncEtcd
    shared_config: SharedConfig
    db: AsyncEngine
    redis: RedisClients
    event_producer: EventProducer
    event_dispatcher: EventDispatcher
    pidx: int = 0                       # the worker index when num-proc > 1
    agents: AgentRPCPool = field(default_factory=AgentRPCPool)  # manager -> agent RPC
    # Later components (scheduler, stream handlers, ...) keep their process-wide state here.
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.etcd.namespace

    @property
    def node_id(self) -> str:
        return str(self.local_config["manager"]["id"])

    def distributed_lock(self, name: str, *, timeout: float | None = None) -> AbstractDistributedLock:
        """The cross-process lock manager.toml's `distributed-lock` selects, for `name`."""
        mgr = self.local_config["manager"]
        if mgr["distributed-lock"] == "filelock":
            return FileLock(Path(mgr["lock-dir"]) / f"{self.namespace}.{name}.lock", timeout=timeout)
        return PgAdvisoryLock(self.db, f"{self.namespace}:{name}", timeout=timeout)


ROOT_CTX = web.AppKey("root_ctx", RootContext)
LOCAL_CONFIG = web.AppKey("local_config", dict)
WORKER_INDEX = web.AppKey("worker_index", int)

# Per-request state the middlewares set (see middlewares/__init__.py for their order).
REQUESTER = web.RequestKey("requester", object)            # Requester | None (anonymous)
IS_AUTHORIZED = web.RequestKey("is_authorized", bool)
API_VERSION = web.RequestKey("api_version", tuple)          # (major, "YYYYMMDD")
API_VERSION_STR = web.RequestKey("api_version_str", object)  # str | None: the header as sent
RATE_LIMIT_BOX = web.RequestKey("rate_limit_box", dict)     # {"info": (limit, remaining)}
SIGNED_METHOD = web.RequestKey("signed_method", str)        # the method before X-Method-Override


@asynccontextmanager
async def root_context(local_config: dict[str, Any], *, pidx: int = 0) -> AsyncIterator[RootContext]:
    """Connect etcd, PostgreSQL, Redis and the event bus; close them in reverse order."""
    async with AsyncExitStack() as stack:
        etcd_cfg = local_config["etcd"]
        etcd = AsyncEtcd(etcd_cfg["addr"], etcd_cfg["namespace"],
                         user=etcd_cfg.get("user") or None, password=etcd_cfg.get("password") or None)
        stack.push_async_callback(etcd.close)
        shared_config = SharedConfig(etcd)

        db_cfg = local_config["db"]
        db = create_engine(url_from_config(db_cfg), pool_size=db_cfg["pool-size"],
                           max_overflow=db_cfg["max-overflow"])
        stack.push_async_callback(db.dispose)

        redis_cfg = await shared_config.get_redis_config()

        def _redis(db_index: int, name: str) -> aioredis.Redis:
            return redis_helper.connect(redis_cfg["addr"], password=redis_cfg["password"],
                                        db=db_index, name=f"manager.{name}")

        clients = RedisClients(
            stat=_redis(redis_helper.REDIS_STAT_DB, "stat"),
            rlim=_redis(redis_helper.REDIS_RLIM_DB, "rlim"),
            live=_redis(redis_helper.REDIS_LIVE_DB, "live"),
            image=_redis(redis_helper.REDIS_IMAGE_DB, "image"),
            stream=_redis(redis_helper.REDIS_STREAM_DB, "stream"),
        )
        for c in clients.all():
            stack.push_async_callback(c.aclose)
        await redis_helper.wait_until_ready(clients.stream)

        mgr = local_config["manager"]
        stream_key, channel = mgr["event-stream-key"], mgr["event-broadcast-channel"]
        producer = EventProducer(clients.stream, stream_key=stream_key, broadcast_channel=channel)
        dispatcher = EventDispatcher(clients.stream, group="manager", stream_key=stream_key,
                                     broadcast_channel=channel)
        ctx = RootContext(
            local_config=local_config, etcd=etcd, shared_config=shared_config, db=db,
            redis=clients, event_producer=producer, event_dispatcher=dispatcher, pidx=pidx,
        )
        stack.push_async_callback(ctx.agents.close)
        stack.push_async_callback(_cancel_background_tasks, ctx)
        yield ctx


async def _cancel_background_tasks(ctx: RootContext) -> None:
    tasks = list(ctx.extensions.get("bgtasks", ()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
