"""Fixtures that connect tests to the real halfstack (PostgreSQL, Redis, etcd).

The test command starts the embedded halfstack (scripts/halfstack.sh) and exports its
addresses as BACKEND_TEST_*; defaults are the halfstack's ports. Every test gets its own
etcd namespace, Redis keys and PostgreSQL database, so parallel test processes never collide.
A service that is not reachable is a test failure with a hint, not a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from ai.backend.common.types import HostPortPair

PG_URL = os.environ.get("BACKEND_TEST_PG_ADDR") or "postgresql://postgres:develove@127.0.0.1:8100/backend"
REDIS_ADDR = HostPortPair.parse(os.environ.get("BACKEND_TEST_REDIS_ADDR") or "127.0.0.1:8110")
ETCD_ADDR = HostPortPair.parse(os.environ.get("BACKEND_TEST_ETCD_ADDR") or "127.0.0.1:8120")


def _require(addr: HostPortPair, what: str) -> None:
    try:
        with socket.create_connection((addr.host, addr.port), timeout=2):
            pass
    except OSError as e:
        pytest.fail(f"{what} is not reachable at {addr} ({e}); start it with scripts/halfstack.sh start")


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def redis_addr() -> HostPortPair:
    _require(REDIS_ADDR, "Redis")
    return REDIS_ADDR


@pytest.fixture
def etcd_addr() -> HostPortPair:
    _require(ETCD_ADDR, "etcd")
    return ETCD_ADDR


@pytest.fixture
async def redis_client(redis_addr: HostPortPair, test_id: str) -> AsyncIterator[object]:
    """A Redis client; keys a test creates should start with `test_id` and are removed after."""
    from ai.backend.common.redis_helper import connect

    client = connect(redis_addr)
    yield client
    keys = [k async for k in client.scan_iter(match=f"*{test_id}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def etcd(etcd_addr: HostPortPair, test_id: str) -> AsyncIterator[object]:
    from ai.backend.common.etcd import AsyncEtcd

    client = AsyncEtcd(etcd_addr, namespace=f"test-{test_id}")
    yield client
    await client.delete_prefix("")
    await client.close()


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@pytest.fixture
def pg_server_url() -> str:
    parts = urlsplit(PG_URL)
    _require(HostPortPair(parts.hostname or "127.0.0.1", parts.port or 5432), "PostgreSQL")
    return PG_URL


@pytest.fixture
def database_url(pg_server_url: str, test_id: str) -> Iterator[str]:
    """A fresh, empty database for this test (postgresql:// URL), dropped afterwards."""
    import asyncio

    import asyncpg

    dbname = f"test_{test_id}"
    admin_url = _with_db(pg_server_url, "postgres")

    async def _run(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_run(f'CREATE DATABASE "{dbname}"'))
    yield _with_db(pg_server_url, dbname)
    asyncio.run(_run(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


@pytest.fixture
def async_database_url(database_url: str) -> str:
    """The same database as a SQLAlchemy asyncpg URL."""
    return database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
