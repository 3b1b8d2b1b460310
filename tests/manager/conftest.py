"""Fixtures that run a real manager against the halfstack: a fresh database with the schema
and the example fixtures, a throwaway etcd namespace, the real Redis, and an aiohttp server
on an ephemeral port. `SignedClient` signs requests exactly as API clients must."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.redis_helper import REDIS_RLIM_DB, REDIS_STREAM_DB, connect
from ai.backend.common.types import HostPortPair
from ai.backend.manager import config as manager_config
from ai.backend.manager.models import migration
from ai.backend.manager.models.dbutils import create_engine
from ai.backend.manager.services import fixtures
from manager.helpers import ADMIN, DOMAIN_ADMIN, USER, SignedClient, load_fixture


@pytest.fixture
def local_config(database_url: str, etcd_addr: HostPortPair, test_id: str, tmp_path: Path) -> dict[str, Any]:
    db = urlsplit(database_url)
    cfg = manager_config.from_dict({
        "etcd": {"namespace": f"test-{test_id}", "addr": str(etcd_addr)},
        "db": {"addr": f"{db.hostname}:{db.port}", "name": db.path.lstrip("/"),
               "user": db.username, "password": db.password or ""},
        "manager": {"service-addr": "127.0.0.1:8081", "num-proc": 1, "pid-file": str(tmp_path / "manager.pid"),
                    "id": f"i-test-{test_id}",
                    # a private event bus: never consume the events of a real stack on this Redis
                    "event-stream-key": f"events.test-{test_id}",
                    "event-broadcast-channel": f"events.broadcast.test-{test_id}"},
        "logging": {"level": "INFO", "drivers": ["console"]},
    })
    cfg["manager"]["service-addr"] = HostPortPair("127.0.0.1", 0)  # an ephemeral port
    return cfg


@pytest.fixture
async def db_engine(async_database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test database with the schema (alembic head) and both example fixtures."""
    engine = create_engine(async_database_url, pool_size=4, max_overflow=4)
    await migration.upgrade(engine)
    await fixtures.populate(engine, load_fixture("example-keypairs.json"))
    await fixtures.populate(engine, load_fixture("example-resource-presets.json"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def cluster_etcd(etcd: AsyncEtcd, redis_addr: HostPortPair) -> AsyncEtcd:
    """The test's etcd namespace seeded with what the manager reads at startup."""
    await etcd.put("config/redis/addr", str(redis_addr))
    return etcd


@dataclass
class RunningManager:
    url: str
    port: int
    local_config: dict[str, Any]
    db: AsyncEngine
    etcd: AsyncEtcd


@pytest.fixture
async def manager(local_config: dict[str, Any], db_engine: AsyncEngine,
                  cluster_etcd: AsyncEtcd) -> AsyncIterator[RunningManager]:
    from ai.backend.manager.server import serve

    loop = asyncio.get_running_loop()
    ready: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(local_config, stop=stop, ready=ready.set_result))
    waiters: list[asyncio.Future[Any]] = [task, ready]
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED, timeout=60)
    if task in done:
        task.result()  # raises the startup error
    port = ready.result()
    yield RunningManager(f"http://127.0.0.1:{port}", port, local_config, db_engine, cluster_etcd)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    # this run's rate-limit counters and event stream
    addr = HostPortPair.parse(str(await cluster_etcd.get("config/redis/addr")))
    redis = connect(addr, db=REDIS_RLIM_DB)
    keys = [k async for k in redis.scan_iter(match=f"rlim:{cluster_etcd.namespace}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    redis = connect(addr, db=REDIS_STREAM_DB)
    await redis.delete(local_config["manager"]["event-stream-key"])
    await redis.aclose()


@pytest.fixture
async def client_factory(manager: RunningManager) -> AsyncIterator[Any]:
    clients: list[SignedClient] = []

    def make(keypair: tuple[str, str] | None, **kwargs: Any) -> SignedClient:
        c = SignedClient(manager.url, keypair, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.close()


@pytest.fixture
def admin(client_factory: Any) -> SignedClient:
    return client_factory(ADMIN)


@pytest.fixture
def user(client_factory: Any) -> SignedClient:
    return client_factory(USER)


@pytest.fixture
def domain_admin(client_factory: Any) -> SignedClient:
    return client_factory(DOMAIN_ADMIN)


@pytest.fixture
def anonymous(client_factory: Any) -> SignedClient:
    return client_factory(None)
