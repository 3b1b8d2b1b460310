"""Faults: lost events and answers, dead agents, deadlines, a manager restart mid-burst.
After each scenario the DB's derived occupancy equals what the agents really hold."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.common.events.kernel import KernelStartedEvent
from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.manager.models import agents, kernels, keypair_resource_policies
from manager.sessions_sched.conftest import (
    SCHED_CONFIG,
    assert_occupancy_matches,
    kernel_rows,
    session_row,
    wait_agents,
    wait_status,
    wait_until,
)
from manager.sessions_sched.factories import create_pending

S = SessionStatus


@pytest.fixture
def sched_config() -> dict[str, Any]:
    # agent calls time out after 1 s, so a slow creation loses its RPC answer
    return {**SCHED_CONFIG, "rpc-timeout": 1.0}


def drop_events(agent: Any, event_cls: type) -> list[Any]:
    dropped: list[Any] = []
    produce = agent.produce_event

    async def filtered(event: Any) -> None:
        if isinstance(event, event_cls):
            dropped.append(event)
            return
        await produce(event)

    agent.produce_event = filtered
    return dropped


async def hard_kill(fleet: Any, agent: Any) -> None:
    """Stop an agent without a word: no more events, heartbeats or RPC answers."""
    agent.event_producer = None
    server = next(s for s in fleet.servers if s.agent is agent)
    await server.stop()
    fleet.servers.remove(server)


async def agent_status(db: Any, agent_id: str) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(agents.c.status).where(agents.c.id == agent_id))).scalar()


async def test_lost_started_event_and_lost_answer_still_end_running(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1, delays={"create-kernel": 2.0})
    agent = fleet.agents[0]
    dropped = drop_events(agent, KernelStartedEvent)
    await wait_agents(manager.db, 1)
    t0 = time.monotonic()
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    row = await wait_status(manager.db, sid, {S.RUNNING, S.ERROR}, timeout=SCHED_CONFIG["deadlines"]["CREATING"] + 5)
    elapsed = time.monotonic() - t0
    assert row.status == S.RUNNING, row.status_info
    assert dropped and dropped[0].kernel_id == (await kernel_rows(manager.db, sid))[0].id
    assert elapsed < SCHED_CONFIG["deadlines"]["CREATING"]
    (k,) = await kernel_rows(manager.db, sid)
    assert k.container_id == agent.kernel_registry[k.id].container_id
    await assert_occupancy_matches(manager.db, fleet.agents)


async def test_agent_killed_mid_creation_fails_session_and_goes_lost(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(2, delays={"create-kernel": 30.0})
    await wait_agents(manager.db, 2)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.CREATING)
    (k,) = await kernel_rows(manager.db, sid)
    victim = next(a for a in fleet.agents if a.id == k.agent)
    t0 = time.monotonic()
    await hard_kill(fleet, victim)
    row = await wait_status(manager.db, sid, {S.ERROR}, timeout=SCHED_CONFIG["deadlines"]["CREATING"] + 5)
    elapsed = time.monotonic() - t0
    assert row.status_info.startswith(f"agent-lost: {victim.id}"), row.status_info
    assert row.status_data["error"]["agents"] == [victim.id]
    assert elapsed < SCHED_CONFIG["deadlines"]["CREATING"]
    assert await agent_status(manager.db, victim.id) == AgentStatus.LOST
    (k,) = await kernel_rows(manager.db, sid)
    assert k.status == S.ERROR
    # the survivor is untouched and its occupancy is still right
    await assert_occupancy_matches(manager.db, fleet.agents)


async def test_creation_past_deadline_fails_and_is_cleaned_up(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1, delays={"create-kernel": 60.0})
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    row = await wait_status(manager.db, sid, S.ERROR, timeout=SCHED_CONFIG["deadlines"]["CREATING"] + 8)
    assert row.status_info == f"deadline-exceeded: CREATING for more than {SCHED_CONFIG['deadlines']['CREATING']:g}s"
    assert row.status_data["error"]["status"] == "CREATING"
    # the creation in progress was cancelled on the agent, and nothing is left allocated
    await wait_until(lambda: _no_kernels(fleet.agents[0]), 10, "the agent to drop the kernel")
    await assert_occupancy_matches(manager.db, fleet.agents)


async def _no_kernels(agent: Any) -> bool:
    return not agent.kernel_registry


async def test_lost_agent_comes_back_and_kernels_are_reconciled(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1, prefix="phoenix-")
    agent = fleet.agents[0]
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    await hard_kill(fleet, agent)
    await wait_until(lambda: _is(manager.db, agent.id, AgentStatus.LOST), 10, "the agent to be LOST")
    assert (await session_row(manager.db, sid)).status == S.RUNNING   # it may come back
    # it restarts under the same id without the kernel (simulated kernels die with their agent)
    fleet2 = await sim.start(1, prefix="phoenix-")
    assert fleet2.agents[0].id == agent.id
    await wait_until(lambda: _is(manager.db, agent.id, AgentStatus.ALIVE), 10, "the agent to be ALIVE again")
    await wait_status(manager.db, sid, S.TERMINATED)
    (k,) = await kernel_rows(manager.db, sid)
    assert k.status_info == "kernel-vanished-from-agent"
    await assert_occupancy_matches(manager.db, fleet2.agents)


async def _is(db: Any, agent_id: str, status: AgentStatus) -> bool:
    return await agent_status(db, agent_id) == status


async def test_container_the_db_considers_gone_is_destroyed(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1)
    agent = fleet.agents[0]
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    (k,) = await kernel_rows(manager.db, sid)
    assert k.id in agent.kernel_registry
    # e.g. a forced destroy while the agent was unreachable
    async with manager.db.begin() as conn:
        await conn.execute(sa.update(kernels).where(kernels.c.id == k.id).values(status=S.TERMINATED))
    await wait_until(lambda: _gone(agent, k.id), 10, "the stale container to be destroyed")
    await assert_occupancy_matches(manager.db, fleet.agents)


async def _gone(agent: Any, kid: Any) -> bool:
    return kid not in agent.kernel_registry


async def test_manager_restart_during_a_burst(manager_process: Any, sim: Any, producer: Any,
                                              db_engine: Any) -> None:
    async with db_engine.begin() as conn:
        await conn.execute(sa.update(keypair_resource_policies).values(max_concurrent_sessions=0))
    fleet = await sim.start(10, delays={"create-kernel": 0.3, "pull-image": 0.1},
                            resources={"cpu": 8, "mem": "16g"})
    await manager_process.start()
    await wait_agents(db_engine, 10)
    sids = []
    for i in range(50):
        sids.append(await create_pending(db_engine, slots={"cpu": "1", "mem": "1g"}, producer=producer))
        if i == 25:
            await manager_process.stop()       # mid-burst: passes and creations in flight are cut off
            stopped_at = await _statuses(db_engine, sids)
    await asyncio.sleep(0.5)
    await manager_process.start()
    settled = {S.RUNNING, S.TERMINATED, S.CANCELLED, S.ERROR}

    async def all_settled() -> bool:
        return set((await _statuses(db_engine, sids)).values()) <= settled

    await wait_until(all_settled, 40, "every session to settle")
    final = await _statuses(db_engine, sids)
    failed = {sid: (await session_row(db_engine, sid)).status_info for sid, st in final.items() if st != S.RUNNING}
    assert not failed, (len(stopped_at), failed)
    await assert_occupancy_matches(db_engine, fleet.agents)


async def _statuses(db: Any, sids: list[Any]) -> dict[Any, S]:
    from ai.backend.manager.models import sessions

    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(sessions.c.id, sessions.c.status).where(sessions.c.id.in_(sids)))).all()
    return {r.id: S(r.status) for r in rows}


async def test_two_managers_share_the_work_safely(manager_process: Any, local_config: Any, sim: Any,
                                                  producer: Any, db_engine: Any) -> None:
    from manager.sessions_sched.conftest import ManagerProcess

    async with db_engine.begin() as conn:
        await conn.execute(sa.update(keypair_resource_policies).values(max_concurrent_sessions=0))
    fleet = await sim.start(4, delays={"create-kernel": 0.2}, resources={"cpu": 4, "mem": "16g"})
    second = ManagerProcess(local_config)
    await manager_process.start()
    await second.start()
    try:
        await wait_agents(db_engine, 4)
        # 20 sessions for 16 CPUs: exactly 16 may run, none placed twice
        sids = [await create_pending(db_engine, slots={"cpu": "1", "mem": "1g"}, producer=producer)
                for _ in range(20)]

        async def settled() -> bool:
            st = await _statuses(db_engine, sids)
            return list(st.values()).count(S.RUNNING) == 16 and list(st.values()).count(S.PENDING) == 4

        await wait_until(settled, 40, "16 RUNNING and 4 PENDING")
        await asyncio.sleep(1.0)   # more passes, by both managers
        assert list((await _statuses(db_engine, sids)).values()).count(S.RUNNING) == 16
        await assert_occupancy_matches(db_engine, fleet.agents)
        assert sum(len(a.kernel_registry) for a in fleet.agents) == 16
    finally:
        await second.stop()
