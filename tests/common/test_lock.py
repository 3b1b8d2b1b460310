import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from ai.backend.common.lock import (
    FileLock,
    LockTimeout,
    PgAdvisoryLock,
    lock_id_for,
    pg_advisory_xact_lock,
)


async def test_pg_advisory_lock_excludes_other_holders(async_database_url: str) -> None:
    e1 = create_async_engine(async_database_url)
    e2 = create_async_engine(async_database_url)
    try:
        order: list[str] = []
        async with PgAdvisoryLock(e1, "scheduler"):
            order.append("first acquired")
            other = PgAdvisoryLock(e2, "scheduler", timeout=0.3)
            with pytest.raises(LockTimeout):
                await other.acquire()

            async def second() -> None:
                async with PgAdvisoryLock(e2, "scheduler", timeout=10):
                    order.append("second acquired")

            task = asyncio.create_task(second())
            await asyncio.sleep(0.3)
            order.append("first releasing")
        await asyncio.wait_for(task, 10)
        assert order == ["first acquired", "first releasing", "second acquired"]
        # different names do not contend
        async with PgAdvisoryLock(e1, "a"), PgAdvisoryLock(e2, "b", timeout=1):
            pass
    finally:
        await e1.dispose()
        await e2.dispose()


async def test_xact_lock_is_released_at_commit(async_database_url: str) -> None:
    engine = create_async_engine(async_database_url)
    try:
        async with engine.begin() as conn:
            await pg_advisory_xact_lock(conn, "pass")
            probe = PgAdvisoryLock(engine, "pass")
            assert not await probe.try_acquire()
            await probe.release()
        probe = PgAdvisoryLock(engine, lock_id_for("pass"))
        assert await probe.try_acquire()
        await probe.release()
    finally:
        await engine.dispose()


def test_lock_ids_are_stable_and_distinct() -> None:
    assert lock_id_for("scheduler") == lock_id_for("scheduler")
    assert lock_id_for("scheduler") != lock_id_for("scheduler2")
    assert -(2**63) <= lock_id_for("x") < 2**63


async def test_file_lock_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "manager.lock"
    script = textwrap.dedent(f"""
        import asyncio, sys
        from ai.backend.common.lock import FileLock, LockTimeout
        async def main():
            try:
                async with FileLock({str(path)!r}, timeout=0.3):
                    print("acquired")
            except LockTimeout:
                print("timeout")
        asyncio.run(main())
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def other_process() -> str:
        return subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
        ).stdout.strip()

    async with FileLock(path) as lock:
        assert lock.is_locked
        assert await asyncio.to_thread(other_process) == "timeout"
    assert await asyncio.to_thread(other_process) == "acquired"
