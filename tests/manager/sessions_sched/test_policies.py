"""Keypair resource policy limits on running sessions: idle timeout and max session lifetime;
batch sessions' own timeout; do_terminate_session requests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.common.events.session import DoTerminateSessionEvent
from ai.backend.common.status import SessionResult, SessionStatus, SessionTypes
from ai.backend.manager.models import kernels, keypair_resource_policies, sessions
from ai.backend.manager.services.session_watchdog import last_access_key
from manager.sessions_sched.conftest import SCHED_CONFIG, kernel_rows, wait_agents, wait_status
from manager.sessions_sched.factories import create_pending

S = SessionStatus


@pytest.fixture
def sched_config() -> dict[str, Any]:
    return {**SCHED_CONFIG, "deadlines": {**SCHED_CONFIG["deadlines"], "RESTARTING": 1.0}}


async def _policy(db: Any, **values: Any) -> None:
    async with db.begin() as conn:
        await conn.execute(sa.update(keypair_resource_policies).values(**values))


async def test_idle_timeout_terminates_only_idle_sessions(manager: Any, sim: Any, producer: Any, mctx: Any) -> None:
    await _policy(manager.db, idle_timeout=2, max_session_lifetime=0)
    fleet = await sim.start(1)
    await wait_agents(manager.db, 1)
    idle = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    busy = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, idle, S.RUNNING)
    await wait_status(manager.db, busy, S.RUNNING)
    t0 = time.monotonic()
    # activity on `busy` (what execute / streams write) keeps it alive
    while time.monotonic() - t0 < 5:
        await mctx.redis.live.set(last_access_key(busy), f"{time.time():.6f}")
        row = await wait_status(manager.db, idle, {S.RUNNING, S.TERMINATED}, timeout=1)
        if row.status == S.TERMINATED:
            break
        await asyncio.sleep(0.3)
    row = await wait_status(manager.db, idle, S.TERMINATED, timeout=10)
    assert row.status_info == "idle-timeout (2s)"
    async with manager.db.connect() as conn:
        busy_status = (await conn.execute(sa.select(sessions.c.status).where(sessions.c.id == busy))).scalar()
    assert busy_status == S.RUNNING
    assert (await kernel_rows(manager.db, idle))[0].id not in fleet.agents[0].kernel_registry


async def test_max_session_lifetime(manager: Any, sim: Any, producer: Any) -> None:
    await _policy(manager.db, idle_timeout=0, max_session_lifetime=3)
    await sim.start(1)
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    row = await wait_status(manager.db, sid, S.TERMINATED, timeout=15)
    assert row.status_info == "max-session-lifetime-exceeded (3s)"
    assert (row.terminated_at - row.created_at).total_seconds() >= 3


async def test_batch_timeout_and_terminate_request(manager: Any, sim: Any, producer: Any) -> None:
    await _policy(manager.db, idle_timeout=0, max_session_lifetime=0)
    # the simulated batch command takes longer than the session's own timeout
    await sim.start(1, delays={"execute": 30.0})
    await wait_agents(manager.db, 1)
    batch = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, session_type=SessionTypes.BATCH,
                                 startup_command="sleep 30", producer=producer)
    async with manager.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == batch).values(timeout=2))
    row = await wait_status(manager.db, batch, S.TERMINATED, timeout=15)
    assert row.status_info == "batch-timeout (2s)"
    assert row.result != SessionResult.SUCCESS
    # the manager's own termination requests (e.g. `mgr clear-sessions`) go through destroy_session
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    await producer.produce_event(DoTerminateSessionEvent(session_id=sid, reason="admin-requested"))
    row = await wait_status(manager.db, sid, S.TERMINATED)
    assert row.status_info == "admin-requested"


async def test_restart_left_unfinished_returns_to_running(manager: Any, sim: Any, producer: Any) -> None:
    await _policy(manager.db, idle_timeout=0, max_session_lifetime=0)
    await sim.start(1)
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    # what a manager that died in the middle of a restart leaves behind
    async with manager.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == sid).values(status=S.RESTARTING))
        await conn.execute(sa.update(kernels).where(kernels.c.session_id == sid).values(status=S.RESTARTING))
    row = await wait_status(manager.db, sid, S.RUNNING, timeout=10)
    assert row.status_info == "restart-unconfirmed"
    assert (await kernel_rows(manager.db, sid))[0].status == S.RUNNING
