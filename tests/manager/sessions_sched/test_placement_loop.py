"""Placement and ordering through the real loop: clusters (all or nothing), fifo / lifo / drf,
head-of-line blocking with and without the retry threshold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ai.backend.common.events.session import DoScheduleEvent
from ai.backend.common.status import ClusterMode, SessionStatus
from ai.backend.manager.models import agents, kernels, scaling_groups
from manager.sessions_sched.conftest import (
    assert_occupancy_matches,
    kernel_rows,
    session_row,
    wait_agents,
    wait_status,
    wait_until,
)
from manager.sessions_sched.factories import ADMIN_AK, ADMIN_UUID, create_pending

S = SessionStatus
T0 = datetime.now(UTC) - timedelta(minutes=5)


async def _exec(db: Any, stmt: Any) -> None:
    async with db.begin() as conn:
        await conn.execute(stmt)


async def _decided(db: Any, sid: uuid.UUID) -> Any:
    async def has() -> bool:
        row = await session_row(db, sid)
        return row.status != S.PENDING or bool(row.status_data and "scheduler" in row.status_data)

    await wait_until(has, 10, "a scheduling decision")
    return await session_row(db, sid)


async def test_single_node_cluster_on_one_agent(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(3)
    await wait_agents(manager.db, 3)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, cluster_size=3, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    ks = await kernel_rows(manager.db, sid)
    assert [(k.cluster_role, k.cluster_idx, k.cluster_hostname) for k in ks] == [
        ("main", 1, "main1"), ("sub", 1, "sub1"), ("sub", 2, "sub2")]
    assert len({k.agent for k in ks}) == 1 and all(k.status == S.RUNNING for k in ks)
    agent = next(a for a in fleet.agents if a.id == ks[0].agent)
    info = agent.kernel_registry[ks[0].id].cluster_info
    assert info["mode"] == "single-node" and info["size"] == 3
    assert info["replicas"] == {"main": 1, "sub": 2}
    assert info["network_name"] == f"bai-{sid.hex[:16]}"
    await assert_occupancy_matches(manager.db, fleet.agents)


async def test_multi_node_cluster_spreads_all_or_nothing(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(2)
    await wait_agents(manager.db, 2)
    # 3 kernels of 3 CPUs need 3 agents of 4 CPUs: with 2 agents nothing may be placed
    sid = await create_pending(manager.db, slots={"cpu": "3", "mem": "1g"}, cluster_size=3,
                               cluster_mode=ClusterMode.MULTI_NODE, producer=producer)
    row = await _decided(manager.db, sid)
    assert row.status == S.PENDING
    assert row.status_data["scheduler"]["check"] == "agent_capacity"
    assert all(k.agent is None and k.status == S.PENDING for k in await kernel_rows(manager.db, sid))
    async with manager.db.connect() as conn:
        placed = (await conn.execute(sa.select(sa.func.count()).select_from(kernels)
                                     .where(kernels.c.agent.is_not(None)))).scalar_one()
    assert placed == 0
    await assert_occupancy_matches(manager.db, fleet.agents)
    # a third agent arrives: the whole cluster is placed, one kernel per agent
    fleet2 = await sim.start(1)
    row = await wait_status(manager.db, sid, S.RUNNING)
    ks = await kernel_rows(manager.db, sid)
    assert len({k.agent for k in ks}) == 3
    await assert_occupancy_matches(manager.db, fleet.agents + fleet2.agents)


async def _blocked_pair(manager: Any, sim: Any, producer: Any, scheduler: str,
                        opts: dict[str, Any] | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    """Two sessions of 3 CPUs (older A, newer B) waiting for one 4-CPU agent; then released."""
    await _exec(manager.db, sa.update(scaling_groups).values(scheduler=scheduler, scheduler_opts=opts or {}))
    await sim.start(1)
    await wait_agents(manager.db, 1)
    await _exec(manager.db, sa.update(agents).values(schedulable=False))
    a = await create_pending(manager.db, "older", slots={"cpu": "3", "mem": "1g"}, created_at=T0, producer=producer)
    b = await create_pending(manager.db, "newer", slots={"cpu": "3", "mem": "1g"},
                             created_at=T0 + timedelta(seconds=10), producer=producer)
    await _decided(manager.db, a)
    await _exec(manager.db, sa.update(agents).values(schedulable=True))
    await producer.produce_event(DoScheduleEvent())
    return a, b


async def test_fifo_runs_the_oldest_first(manager: Any, sim: Any, producer: Any) -> None:
    a, b = await _blocked_pair(manager, sim, producer, "fifo")
    await wait_status(manager.db, a, S.RUNNING)
    row = await _decided(manager.db, b)
    assert row.status == S.PENDING and row.status_data["scheduler"]["check"] == "agent_capacity"


async def test_lifo_runs_the_newest_first(manager: Any, sim: Any, producer: Any) -> None:
    a, b = await _blocked_pair(manager, sim, producer, "lifo")
    await wait_status(manager.db, b, S.RUNNING)
    assert (await session_row(manager.db, a)).status == S.PENDING


async def test_drf_prefers_the_user_with_the_smaller_dominant_share(manager: Any, sim: Any, producer: Any) -> None:
    await _exec(manager.db, sa.update(scaling_groups).values(scheduler="drf"))
    await sim.start(1)
    await wait_agents(manager.db, 1)
    big = await create_pending(manager.db, slots={"cpu": "2", "mem": "1g"}, access_key=ADMIN_AK,
                               user_uuid=ADMIN_UUID, producer=producer)
    small = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, big, S.RUNNING)
    await wait_status(manager.db, small, S.RUNNING)
    # 1 CPU left; the admin (share 2/4) asked first, the user (share 1/4) later
    await _exec(manager.db, sa.update(agents).values(schedulable=False))
    admin_next = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, access_key=ADMIN_AK,
                                      user_uuid=ADMIN_UUID, created_at=T0, producer=producer)
    user_next = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"},
                                     created_at=T0 + timedelta(seconds=10), producer=producer)
    await _decided(manager.db, admin_next)
    await _exec(manager.db, sa.update(agents).values(schedulable=True))
    await producer.produce_event(DoScheduleEvent())
    await wait_status(manager.db, user_next, S.RUNNING)
    row = await _decided(manager.db, admin_next)
    assert row.status == S.PENDING and row.status_data["scheduler"]["check"] == "agent_capacity"


async def test_hol_blocking_without_and_with_retry_threshold(manager: Any, sim: Any, producer: Any) -> None:
    await sim.start(1)
    await wait_agents(manager.db, 1)
    huge = await create_pending(manager.db, "huge", slots={"cpu": "8", "mem": "1g"}, created_at=T0,
                                producer=producer)
    small = await create_pending(manager.db, "small", slots={"cpu": "1", "mem": "1g"},
                                 created_at=T0 + timedelta(seconds=1), producer=producer)
    # strict FIFO: the small one waits behind the huge one, and says so
    row = await _decided(manager.db, small)
    assert row.status == S.PENDING and row.status_data["scheduler"]["check"] == "hol_blocked"
    await wait_until(lambda: _retries_at_least(manager.db, huge, 3), 10, "retries to grow")
    assert (await session_row(manager.db, small)).status == S.PENDING
    # with HoL avoidance the huge session is pushed back after 2 failed tries
    await _exec(manager.db, sa.update(scaling_groups).values(scheduler_opts={"num_retries_to_skip": 2}))
    await producer.produce_event(DoScheduleEvent())
    await wait_status(manager.db, small, S.RUNNING)
    row = await session_row(manager.db, huge)
    assert row.status == S.PENDING and row.status_data["scheduler"]["check"] == "agent_capacity"


async def _retries_at_least(db: Any, sid: uuid.UUID, n: int) -> bool:
    row = await session_row(db, sid)
    return bool(row.status_data) and row.status_data["scheduler"].get("retries", 0) >= n
