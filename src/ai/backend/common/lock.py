"""Distributed locks: a PostgreSQL advisory lock (across hosts) and a file lock (one host).

The manager's `distributed-lock` setting picks one; both are async context managers.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from types import TracebackType
from typing import Protocol

import filelock
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class LockTimeout(TimeoutError):
    pass


class AbstractDistributedLock(Protocol):
    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def lock_id_for(name: str) -> int:
    """A stable signed 64-bit advisory-lock id for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PgAdvisoryLock:
    """Session-level pg_advisory_lock on a connection held for the lock's lifetime."""

    def __init__(self, engine: AsyncEngine, lock_id: int | str, *, timeout: float | None = None,
                 poll_interval: float = 0.05) -> None:
        self.engine = engine
        self.lock_id = lock_id if isinstance(lock_id, int) else lock_id_for(lock_id)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = await self.engine.connect()
        got = (await self._conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": self.lock_id})).scalar()
        await self._conn.commit()
        return bool(got)

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        try:
            while not await self.try_acquire():
                if deadline is not None and loop.time() >= deadline:
                    raise LockTimeout(f"advisory lock {self.lock_id} not acquired in {self.timeout}s")
                await asyncio.sleep(self.poll_interval)
        except BaseException:
            await self._close()
            raise

    async def release(self) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": self.lock_id})
            await self._conn.commit()
        finally:
            await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def __aenter__(self) -> PgAdvisoryLock:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


async def pg_advisory_xact_lock(conn: AsyncConnection, lock_id: int | str) -> None:
    """Hold an advisory lock until the current transaction ends (for one scheduling pass)."""
    lid = lock_id if isinstance(lock_id, int) else lock_id_for(lock_id)
    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lid})


class FileLock:
    """An exclusive lock on a file (flock), usable across processes on one host."""

    def __init__(self, path: str | Path, *, timeout: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = -1 if timeout is None else timeout
        self._lock = filelock.FileLock(str(self.path), timeout=self.timeout, thread_local=False)

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    async def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            await asyncio.to_thread(self._lock.acquire, timeout=self.timeout, poll_interval=0.05)
        except filelock.Timeout:
            raise LockTimeout(f"file lock {self.path} not acquired in {self.timeout}s") from None

    async def release(self) -> None:
        self._lock.release()

    async def __aenter__(self) -> FileLock:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()
