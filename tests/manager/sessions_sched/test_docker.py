"""One session on the real Docker agent with the locally built kernel image: PENDING ->
RUNNING through the scheduler, a container exists, destroying the session removes it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiodocker
import pytest

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.server import AgentServer, SharedServices, build_agent
from ai.backend.common.status import SessionStatus
from manager.sessions_api.sesshelpers import IMAGE, register_images
from manager.sessions_sched.conftest import kernel_rows, session_row, wait_agents, wait_status

S = SessionStatus
KRUNNER_DIR = os.environ.get("BACKEND_TEST_KRUNNER_DIR") or None


async def _remove_containers_of(agent_id: str) -> None:
    import json

    docker = aiodocker.Docker()
    try:
        label = f"ai.backend.agent-id={agent_id}"
        for c in await docker.containers.list(all=True, filters=json.dumps({"label": [label]})):
            await c.delete(force=True)
    finally:
        await docker.close()


@pytest.fixture
async def docker_agent(local_config: dict[str, Any], cluster_etcd: Any, etcd_addr: Any, test_id: str,
                       tmp_path: Path) -> AsyncIterator[AgentServer]:
    mgr = local_config["manager"]
    cfg = agent_config_from_dict({
        "etcd": {"namespace": cluster_etcd.namespace, "addr": str(etcd_addr)},
        "agent": {"mode": "docker", "id": f"docker-{test_id}", "rpc-listen-addr": "127.0.0.1:0",
                  "heartbeat-interval": 0.5, "event-stream-key": mgr["event-stream-key"],
                  "event-broadcast-channel": mgr["event-broadcast-channel"]},
        "container": {"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 5,
                      "scratch-root": str(tmp_path / "scratch"), "krunner-path": KRUNNER_DIR},
        "resource": {"reserved-cpu": 0, "reserved-mem": "256m"},
    })
    services = SharedServices(cfg)
    await services.connect()
    server = AgentServer(build_agent(cfg, services), services)
    await server.start()
    try:
        yield server
    finally:
        try:
            for kid in list(server.agent.kernel_registry):
                await server.agent.destroy_kernel(kid, reason="test-cleanup")
            await server.stop()
        finally:
            await services.close()
            await _remove_containers_of(cfg["agent"]["id"])


async def test_real_docker_session_runs_and_is_removed(manager: Any, docker_agent: AgentServer, user: Any) -> None:
    await register_images(manager.db)
    await wait_agents(manager.db, 1)
    body = {"name": "docker-sess", "image": IMAGE, "type": "interactive", "enqueueOnly": True,
            "config": {"resources": {"cpu": "1", "mem": "512m"}}, "domain": "default", "group": "default"}
    resp = await user.request("POST", "/session", json_body=body)
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    row = await wait_status(manager.db, sid, {S.RUNNING, S.ERROR}, timeout=90)
    assert row.status == S.RUNNING, row.status_info
    history = [h["status"] for h in row.status_history]
    assert history[0] == "PENDING" and history[-1] == "RUNNING" and "SCHEDULED" in history
    (k,) = await kernel_rows(manager.db, sid)
    assert k.container_id and k.agent == docker_agent.agent.id
    docker = aiodocker.Docker()
    try:
        info = await docker.containers.get(k.container_id)
        assert info["State"]["Running"] is True
        resp = await user.request("DELETE", "/session/docker-sess")
        assert resp.status == 200, resp.body
        await wait_status(manager.db, sid, S.TERMINATED, timeout=60)
        with pytest.raises(aiodocker.DockerError) as e:
            await docker.containers.get(k.container_id)
        assert e.value.status == 404
    finally:
        await docker.close()
    assert (await session_row(manager.db, sid)).status == S.TERMINATED


async def test_real_docker_single_node_cluster(manager: Any, docker_agent: AgentServer, user: Any) -> None:
    await register_images(manager.db)
    await wait_agents(manager.db, 1)
    body = {"name": "docker-cluster", "image": IMAGE, "type": "interactive", "enqueueOnly": True,
            "clusterSize": 2, "clusterMode": "single-node",
            "config": {"resources": {"cpu": "1", "mem": "512m"}}, "domain": "default", "group": "default"}
    resp = await user.request("POST", "/session", json_body=body)
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    row = await wait_status(manager.db, sid, {S.RUNNING, S.ERROR}, timeout=120)
    assert row.status == S.RUNNING, row.status_info
    ks = await kernel_rows(manager.db, sid)
    assert [k.cluster_hostname for k in ks] == ["main1", "sub1"]
    docker = aiodocker.Docker()
    try:
        infos = [await (await docker.containers.get(k.container_id)).show() for k in ks]
        networks = [set(i["NetworkSettings"]["Networks"]) for i in infos]
        assert networks[0] == networks[1] == {f"bai-{sid.hex[:16]}"}   # one private bridge network
        envs = [dict(e.split("=", 1) for e in i["Config"]["Env"]) for i in infos]
        assert {e["BACKENDAI_CLUSTER_HOST"] for e in envs} == {"main1", "sub1"}
        assert all(e["BACKENDAI_CLUSTER_SIZE"] == "2" and e["BACKENDAI_CLUSTER_HOSTS"] == "main1,sub1"
                   for e in envs)
        resp = await user.request("DELETE", "/session/docker-cluster")
        assert resp.status == 200, resp.body
        await wait_status(manager.db, sid, S.TERMINATED, timeout=60)
        for k in ks:
            with pytest.raises(aiodocker.DockerError):
                await docker.containers.get(k.container_id)
    finally:
        await docker.close()
