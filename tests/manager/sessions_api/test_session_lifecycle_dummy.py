"""The session API through the whole lifecycle with the real scheduler loop and simulated
(dummy-backend) agents on the real event bus and RPC: create waits until RUNNING, restart
goes to the agent, destroy ends in TERMINATED, cluster sessions start every container."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from ai.backend.common.status import SessionStatus
from manager.helpers import SignedClient
from manager.sessions_api.sesshelpers import body, kernel_rows, session_rows
from manager.sessions_sched.conftest import SCHED_CONFIG, Agents, wait_agents, wait_status

S = SessionStatus


def _stable(data: Any) -> Any:
    """status_data without what every scheduler pass updates (retry count, time of the last try)."""
    if not isinstance(data, dict):
        return data
    return {k: _stable(v) for k, v in data.items() if k not in ("retries", "last_try")}


@pytest.fixture
def local_config(local_config: dict[str, Any]) -> dict[str, Any]:
    from ai.backend.manager.config import scheduler_config_iv

    local_config["scheduler"] = scheduler_config_iv.check(dict(SCHED_CONFIG))
    local_config["manager"]["heartbeat-timeout"] = 3.0
    return local_config


async def test_create_waits_restart_and_destroy(mgr: Any, sim: Agents, user: SignedClient) -> None:
    fleet = await sim.start(1)
    await wait_agents(mgr.db, 1)
    resp = await user.request("POST", "/session", json_body=body(enqueueOnly=False, maxWaitSeconds=30))
    assert resp.status == 201, resp.body
    assert resp.body["status"] == "RUNNING" and resp.body["created"] is True
    sid = uuid.UUID(resp.body["sessionId"])
    (k,) = await kernel_rows(mgr.db, sid)
    agent = fleet.agents[0]
    assert k.agent == agent.id and k.id in agent.kernel_registry

    # reuse answers 200 with the live status and its service ports
    again = await user.request("POST", "/session", json_body=body(enqueueOnly=False))
    assert again.status == 200 and again.body["status"] == "RUNNING" and again.body["sessionId"] == str(sid)

    resp = await user.request("PATCH", "/session/mysess")
    assert resp.status == 204, resp.body
    (row,) = await session_rows(mgr.db, id=sid)
    history = [h["status"] for h in row.status_history]
    assert row.status == S.RUNNING and history[-2:] == ["RESTARTING", "RUNNING"]
    (k2,) = await kernel_rows(mgr.db, sid)
    assert k2.status == S.RUNNING and [h["status"] for h in k2.status_history][-2:] == ["RESTARTING", "RUNNING"]

    resp = await user.request("DELETE", "/session/mysess")
    assert resp.status == 200 and "stats" in resp.body
    row = await wait_status(mgr.db, sid, S.TERMINATED)
    assert row.terminated_at is not None
    assert k.id not in agent.kernel_registry


async def test_cluster_session_starts_every_container(mgr: Any, sim: Agents, user: SignedClient) -> None:
    await sim.start(1)
    await wait_agents(mgr.db, 1)
    resp = await user.request("POST", "/session", json_body=body(
        name="cluster", clusterSize=2, enqueueOnly=False, maxWaitSeconds=30,
        config_resources={"cpu": 1, "mem": "512m"}))
    assert resp.status == 201 and resp.body["status"] == "RUNNING", resp.body
    ks = await kernel_rows(mgr.db, uuid.UUID(resp.body["sessionId"]))
    assert [(k.cluster_hostname, k.status) for k in ks] == [("main1", S.RUNNING), ("sub1", S.RUNNING)]
    assert len({k.agent for k in ks}) == 1        # single-node: one agent holds the cluster


async def test_request_that_never_fits_times_out_pending(mgr: Any, sim: Agents, user: SignedClient) -> None:
    await sim.start(1)
    await wait_agents(mgr.db, 1)
    resp = await user.request("POST", "/session", json_body=body(
        enqueueOnly=False, maxWaitSeconds=2, config_resources={"cpu": 64, "mem": "1g"}))
    assert resp.status == 201 and resp.body["status"] == "TIMEOUT"
    (row,) = await session_rows(mgr.db)
    assert row.status == S.PENDING and row.status_info and row.status_info != "pending"
    info = await user.request("GET", "/session/mysess")
    assert info.body["status"] == "PENDING" and info.body["statusInfo"] == row.status_info


async def test_pending_reason_is_visible_in_graphql(mgr: Any, sim: Agents, user: SignedClient) -> None:
    await sim.start(1)
    await wait_agents(mgr.db, 1)
    resp = await user.request("POST", "/session", json_body=body(
        enqueueOnly=False, maxWaitSeconds=2, config_resources={"cpu": 64, "mem": "1g"}))
    sid = resp.body["sessionId"]
    (row,) = await session_rows(mgr.db)
    assert row.status_data, row
    q = ("query { compute_session_list(limit: 10, offset: 0, status: \"PENDING\") { items { name id status "
         "status_info status_data } total_count } }")
    data = (await user.gql(q))["data"]["compute_session_list"]
    assert data["total_count"] == 1
    (item,) = data["items"]
    assert list(item) == ["name", "id", "status", "status_info", "status_data"]   # the requested order
    assert (item["name"], item["id"], item["status"]) == ("mysess", sid, "PENDING")
    assert item["status_info"] == row.status_info
    assert isinstance(item["status_data"], str)
    assert _stable(json.loads(item["status_data"])) == _stable(row.status_data)
    one = (await user.gql(f'query {{ compute_session(id: "{sid}") {{ status_info status_data }} }}'))["data"]
    assert one["compute_session"]["status_info"] == row.status_info
    containers = (await user.gql(
        f'query {{ compute_container_list(limit: 5, offset: 0, session_id: "{sid}") '
        '{ items { cluster_hostname status status_info status_data } total_count } }'))["data"]
    (k,) = containers["compute_container_list"]["items"]
    assert k["cluster_hostname"] == "main1" and k["status"] == "PENDING"
    (krow,) = await kernel_rows(mgr.db, uuid.UUID(sid))
    assert k["status_info"] == krow.status_info
    assert _stable(json.loads(k["status_data"]) if k["status_data"] else None) == _stable(krow.status_data)
