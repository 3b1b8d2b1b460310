"""The whole path through the REST API: POST /session -> scheduler -> simulated agent -> RUNNING,
then DELETE /session/{name} -> TERMINATED with the kernel gone from the agent."""

from __future__ import annotations

import uuid
from typing import Any

from ai.backend.common.status import SessionStatus
from manager.sessions_api.sesshelpers import IMAGE, register_images
from manager.sessions_sched.conftest import (
    assert_occupancy_matches,
    kernel_rows,
    session_row,
    wait_agents,
    wait_status,
)

S = SessionStatus


def _body(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"tag": None, "name": name,
            "config": {"mounts": [], "environ": {}, "resources": {"cpu": "1", "mem": "1g"}, "resource_opts": {},
                       "scalingGroup": None, "mount_map": {}, "preopen_ports": []},
            "dependencies": None, "callback_url": None, "architecture": "x86_64", "clusterSize": 1,
            "clusterMode": "single-node", "starts_at": None, "bootstrap_script": None, "owner_access_key": None,
            "domain": "default", "group": "default", "type": "interactive", "enqueueOnly": False,
            "maxWaitSeconds": 0, "reuseIfExists": True, "startupCommand": None, "image": IMAGE}
    body.update(extra)
    return body


async def test_create_runs_and_destroy_terminates(manager: Any, sim: Any, user: Any) -> None:
    await register_images(manager.db)
    fleet = await sim.start(1)
    await wait_agents(manager.db, 1)
    resp = await user.request("POST", "/session", json_body=_body("via-api"))
    assert resp.status == 201, resp.body
    assert resp.body["status"] == "RUNNING"
    sid = uuid.UUID(resp.body["sessionId"])
    (k,) = await kernel_rows(manager.db, sid)
    agent = fleet.agents[0]
    assert k.status == S.RUNNING and k.id in agent.kernel_registry
    assert agent.kernel_registry[k.id].config["environ"] == {}
    resp = await user.request("DELETE", "/session/via-api")
    assert resp.status == 200, resp.body
    assert "stats" in resp.body
    await wait_status(manager.db, sid, S.TERMINATED)
    assert k.id not in agent.kernel_registry
    await assert_occupancy_matches(manager.db, fleet.agents)


async def test_enqueued_batch_session_ends_with_success(manager: Any, sim: Any, user: Any) -> None:
    await register_images(manager.db)
    await sim.start(1)
    await wait_agents(manager.db, 1)
    resp = await user.request("POST", "/session", json_body=_body(
        "batch-api", type="batch", startupCommand="python3 -c 'print(42)'", enqueueOnly=True))
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    row = await wait_status(manager.db, sid, S.TERMINATED)
    assert row.result.value == "SUCCESS"
    assert (await session_row(manager.db, sid)).status_info == "task-finished"
