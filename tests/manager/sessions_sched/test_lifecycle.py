"""The core path through the real manager: registration, scheduling, start, destroy."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from ai.backend.common.status import AgentStatus, SessionResult, SessionStatus, SessionTypes
from ai.backend.manager.models import agents
from ai.backend.manager.services.session_termination import destroy_session
from manager.sessions_sched.conftest import (
    assert_occupancy_matches,
    kernel_rows,
    session_row,
    wait_agents,
    wait_status,
    wait_until,
)
from manager.sessions_sched.factories import create_pending

S = SessionStatus


async def test_agent_registers_from_heartbeat(manager: Any, sim: Any) -> None:
    fleet = await sim.start(2)
    await wait_agents(manager.db, 2)
    async with manager.db.connect() as conn:
        rows = (await conn.execute(sa.select(agents).order_by(agents.c.id))).all()
    assert [r.id for r in rows] == sorted(a.id for a in fleet.agents)
    for r in rows:
        assert r.status == AgentStatus.ALIVE
        assert r.scaling_group == "default"
        assert r.addr.startswith("tcp://127.0.0.1:")
        assert r.available_slots["cpu"] == 4
        assert r.available_slots["mem"] == 8 * 2**30
        assert r.resource_slot_types == {"cpu": "count", "mem": "bytes"}
        assert r.version


async def test_pending_session_gets_scheduled_then_running(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1)
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "2", "mem": "1g"}, producer=producer)
    row = await wait_status(manager.db, sid, S.RUNNING)
    history = [h["status"] for h in row.status_history]
    assert history[0] == "PENDING" and history[-1] == "RUNNING"
    assert "SCHEDULED" in history and history.index("SCHEDULED") < history.index("RUNNING")
    (k,) = await kernel_rows(manager.db, sid)
    agent = fleet.agents[0]
    assert k.agent == agent.id and k.agent_addr == agent.rpc_addr
    assert k.status == S.RUNNING and k.container_id and k.repl_in_port
    assert k.occupied_slots["cpu"] == 2
    # the agent really holds this kernel with the allocation the scheduler decided
    assert k.id in agent.kernel_registry
    assert row.occupying_slots["cpu"] == 2
    await assert_occupancy_matches(manager.db, fleet.agents)


async def test_session_that_fits_nowhere_stays_pending_with_reason(manager: Any, sim: Any, producer: Any,
                                                                   user: Any) -> None:
    fleet = await sim.start(2)
    await wait_agents(manager.db, 2)
    sid = await create_pending(manager.db, slots={"cpu": "6", "mem": "1g"}, producer=producer)

    async def has_reason() -> bool:
        row = await session_row(manager.db, sid)
        return bool(row.status_data and "scheduler" in row.status_data)

    await wait_until(has_reason, 10, "a scheduler reason")
    row = await session_row(manager.db, sid)
    assert row.status == S.PENDING
    sched = row.status_data["scheduler"]
    assert sched["check"] == "agent_capacity"
    assert sched["missing"] == {"cpu": "2"}
    assert sched["requested"]["cpu"] == "6"
    assert sched["retries"] >= 1
    assert row.status_info.startswith("agent_capacity: no agent has enough free resources: cpu short by 2")
    await assert_occupancy_matches(manager.db, fleet.agents)
    # the reason is what users see through the API and GraphQL
    resp = await user.request("GET", f"/session/{row.name}")
    assert resp.status == 200, resp.body
    assert resp.body["status"] == "PENDING" and resp.body["statusInfo"] == row.status_info
    assert resp.body["statusData"]["scheduler"]["missing"] == {"cpu": "2"}
    result = await user.gql("query($id: UUID!) { compute_session(id: $id) { status status_info status_data } }",
                            {"id": str(sid)})
    item = result["data"]["compute_session"]
    assert item["status"] == "PENDING" and item["status_info"] == row.status_info
    assert json.loads(item["status_data"])["scheduler"]["check"] == "agent_capacity"


async def test_destroy_pending_is_cancelled(manager: Any, mctx: Any, producer: Any) -> None:
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    result = await destroy_session(mctx, sid, reason="user-requested")
    assert result == {"stats": {}}
    row = await session_row(manager.db, sid)
    assert row.status == S.CANCELLED and row.terminated_at is not None
    assert [h["status"] for h in row.status_history][-1] == "CANCELLED"
    assert all(k.status == S.CANCELLED for k in await kernel_rows(manager.db, sid))


async def test_destroy_running_terminates_and_frees(manager: Any, mctx: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1)
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, sid, S.RUNNING)
    (k,) = await kernel_rows(manager.db, sid)
    agent = fleet.agents[0]
    assert k.id in agent.kernel_registry
    result = await destroy_session(mctx, sid)
    assert "stats" in result
    row = await wait_status(manager.db, sid, S.TERMINATED)
    assert k.id not in agent.kernel_registry           # the container is gone on the agent
    (k,) = await kernel_rows(manager.db, sid)
    assert k.status == S.TERMINATED and k.terminated_at is not None
    history = [h["status"] for h in row.status_history]
    assert history[-2:] == ["TERMINATING", "TERMINATED"]
    await assert_occupancy_matches(manager.db, fleet.agents)


async def test_batch_session_result_by_exit_code(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1)
    await wait_agents(manager.db, 1)
    ok = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, session_type=SessionTypes.BATCH,
                              startup_command="python -c 'print(1)'", producer=producer)
    bad = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, session_type=SessionTypes.BATCH,
                               startup_command="false", internal_data={"dummy": {"fail": ["execute"]}},
                               producer=producer)
    row_ok = await wait_status(manager.db, ok, S.TERMINATED)
    row_bad = await wait_status(manager.db, bad, S.TERMINATED)
    assert row_ok.result == SessionResult.SUCCESS and row_ok.status_info == "task-finished"
    assert row_bad.result == SessionResult.FAILURE and row_bad.status_info == "task-failed"
    assert (await kernel_rows(manager.db, bad))[0].exit_code == 1
    await assert_occupancy_matches(manager.db, fleet.agents)



async def test_missing_image_is_pulled_or_fails(manager: Any, sim: Any, producer: Any) -> None:
    other = "cr.backend.ai/stable/python:3.12-debian12"
    fleet = await sim.start(1, delays={"pull-image": 1.0})
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, image=other, producer=producer)
    row = await wait_status(manager.db, sid, {S.RUNNING, S.ERROR})
    assert row.status == S.RUNNING, row.status_info
    history = [h["status"] for h in row.status_history]
    assert history.index("PREPARING") < history.index("PULLING") < history.index("CREATING") < history.index("RUNNING")
    k_history = [h["status"] for h in (await kernel_rows(manager.db, sid))[0].status_history]
    assert k_history.index("PULLING") < k_history.index("PREPARED") < k_history.index("CREATING")
    assert other in fleet.agents[0].image_set
    # an image present on the agent skips the pull entirely
    sid = await create_pending(manager.db, producer=producer)
    row = await wait_status(manager.db, sid, S.RUNNING)
    assert "PULLING" not in [h["status"] for h in row.status_history]


async def test_image_pull_failure_is_an_error(manager: Any, sim: Any, producer: Any) -> None:
    fleet = await sim.start(1, failures={"pull-image": 1.0})
    await wait_agents(manager.db, 1)
    sid = await create_pending(manager.db, image="cr.backend.ai/stable/python:3.12-debian12", producer=producer)
    row = await wait_status(manager.db, sid, S.ERROR)
    assert row.status_info.startswith(f"image-pull-failed on {fleet.agents[0].id}: ImageNotAvailable"), row.status_info
    assert all(k.status == S.ERROR for k in await kernel_rows(manager.db, sid))
    await assert_occupancy_matches(manager.db, fleet.agents)
