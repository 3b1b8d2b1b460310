"""The official client 23.9.10 against a real manager (scheduler loop included), a real Docker
agent and a real storage proxy: `run --rm`, `start`, `ps`, `session info`, `rm`, and a vfolder
seen inside the container. Each CLI command runs as a subprocess, as a user would run it."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiodocker
import pytest
import sqlalchemy as sa

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.common.status import AgentStatus, SessionResult, SessionStatus
from ai.backend.common.types import HostPortPair
from ai.backend.manager.config import SharedConfig
from ai.backend.manager.models import agents, kernels, sessions
from ai.backend.manager.services import image_scan
from ai.backend.manager.services import images as image_service
from manager.helpers import USER, SignedClient, parse_table
from manager.sessions_sched.conftest import wait_until
from manager.vfolders.vfhelpers import tus_upload

KERNEL_IMAGE = os.environ.get("BACKEND_TEST_KERNEL_IMAGE") or "cr.backend.ai/stable/python:3.11-debian12"
KRUNNER_DIR = os.environ.get("BACKEND_TEST_KRUNNER_DIR") or None
S = SessionStatus


async def containers_of(agent_id: str) -> list[dict[str, Any]]:
    """`docker inspect` of every container the agent made."""
    docker = aiodocker.Docker()
    try:
        found = await docker.containers.list(
            all=True, filters=json.dumps({"label": [f"ai.backend.agent-id={agent_id}"]}))
        return [await c.show() for c in found]
    finally:
        await docker.close()


async def _remove_all(agent_id: str) -> None:
    docker = aiodocker.Docker()
    try:
        label = f"ai.backend.agent-id={agent_id}"
        for c in await docker.containers.list(all=True, filters=json.dumps({"label": [label]})):
            await c.delete(force=True)
        for net in await docker.networks.list(filters={"label": [label]}):
            await (await docker.networks.get(net["Id"])).delete()
    finally:
        await docker.close()


@pytest.fixture
async def docker_agent(vf: Any, etcd_addr: HostPortPair, test_id: str, tmp_path: Path) -> AsyncIterator[str]:
    """A Docker agent (in-process, real RPC and event bus) registered with the test manager,
    with the kernel image registered under its alias "python"."""
    from ai.backend.agent.server import serve

    manager = vf.manager
    await image_scan.rescan(manager.db, SharedConfig(manager.etcd), "local")
    async with manager.db.begin() as conn:
        await image_service.alias(conn, "python", KERNEL_IMAGE)
    mgr = manager.local_config["manager"]
    agent_id = f"e2e-{test_id[:8]}"
    cfg = agent_config_from_dict({
        "etcd": {"namespace": manager.etcd.namespace, "addr": str(etcd_addr)},
        "agent": {"id": agent_id, "rpc-listen-addr": "127.0.0.1:0", "heartbeat-interval": 1.0,
                  "event-stream-key": mgr["event-stream-key"], "event-broadcast-channel": mgr["event-broadcast-channel"]},
        "container": {"port-range": "auto", "bind-host": "127.0.0.1", "scratch-root": str(tmp_path / "scratch"),
                      "stats-interval": 5, "krunner-path": KRUNNER_DIR},
        "resource": {"reserved-cpu": 0, "reserved-mem": "256m"},
        "logging": {"level": "INFO"},
    })
    stop = asyncio.Event()
    task = asyncio.create_task(serve(cfg, stop))

    async def alive() -> bool:
        if task.done():
            task.result()
        async with manager.db.connect() as conn:
            row = (await conn.execute(sa.select(agents.c.status).where(agents.c.id == agent_id))).first()
        return row is not None and row.status == AgentStatus.ALIVE

    try:
        await wait_until(alive, 60, "the docker agent to register")
        yield agent_id
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        await _remove_all(agent_id)


async def _session(db: Any, name: str) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(sessions).where(sessions.c.name == name)
                                   .order_by(sessions.c.created_at.desc()).limit(1))).first()


async def _no_containers(agent_id: str) -> None:
    async def gone() -> bool:
        return not await containers_of(agent_id)

    await wait_until(gone, 60, "the session's containers to be removed")


async def test_run_rm_prints_hello_world_and_leaves_no_container(vf: Any, docker_agent: str, run_cli: Any) -> None:
    out = await run_cli("run", "--rm", "-c", 'print("hello world")', "python", keypair=USER)
    assert "hello world" in out.splitlines(), out
    await _no_containers(docker_agent)
    async with vf.manager.db.connect() as conn:
        rows = (await conn.execute(sa.select(sessions.c.status, sessions.c.access_key))).all()
    assert len(rows) == 1 and rows[0].access_key == USER[0]
    assert rows[0].status == S.TERMINATED


async def test_start_ps_info_rm(vf: Any, docker_agent: str, run_cli: Any) -> None:
    out = await run_cli("start", "-t", "mysess", "python", keypair=USER)
    row = await _session(vf.manager.db, "mysess")
    assert f"Session ID {row.id} is created and ready." in out, out
    assert "http-server" in out          # the image's service ports, from the create response
    assert row.status == S.RUNNING, (row.status, row.status_info)
    (container,) = await containers_of(docker_agent)
    assert container["State"]["Running"]
    assert container["Config"]["Labels"]["ai.backend.kernel-id"] == str(row.id) or \
        str(row.id) in json.dumps(container["Config"]["Labels"])

    rows = parse_table(await run_cli("ps", keypair=USER))
    (ps,) = (r for r in rows if r.get("Session Name") == "mysess" or r.get("Name") == "mysess")
    assert ps["Status"] == "RUNNING", ps

    info = await run_cli("session", "info", str(row.id), keypair=USER)
    assert "mysess" in info and "RUNNING" in info and str(row.id) in info, info

    # restart in place: the same kernel keeps running afterwards
    out = await run_cli("restart", "mysess", keypair=USER)
    assert "Done" in out, out
    row = await _session(vf.manager.db, "mysess")
    assert row.status == S.RUNNING and [h["status"] for h in row.status_history][-2:] == ["RESTARTING", "RUNNING"]
    out = await run_cli("session", "rename", "mysess", "renamed", keypair=USER)
    assert "Session renamed to renamed." in out, out
    assert (await _session(vf.manager.db, "renamed")).id == row.id

    out = await run_cli("rm", "renamed", keypair=USER)
    assert "Done" in out, out

    async def terminated() -> bool:
        return (await _session(vf.manager.db, "renamed")).status == S.TERMINATED

    await wait_until(terminated, 60, "the session to terminate")
    await _no_containers(docker_agent)
    # the official CLI reports an empty list as "NoItems" and a non-zero exit
    out = await run_cli("ps", keypair=USER, ok=False)
    assert "renamed" not in out and "NoItems" in out, out


async def test_vfolder_is_mounted_in_the_container(vf: Any, docker_agent: str, run_cli: Any,
                                                   user: SignedClient) -> None:
    resp = await user.request("POST", "/folders", json_body={"name": "mydata"})
    assert resp.status == 201, resp.body
    payload = b"data from the vfolder\n"
    resp = await user.request("POST", "/folders/mydata/request-upload", json_body={"path": "hello.txt",
                                                                                   "size": len(payload)})
    assert resp.status == 200, resp.body
    await tus_upload(resp.body["url"], resp.body["token"], payload)

    out = await run_cli("start", "-t", "withdata", "-m", "mydata", "python", keypair=USER)
    row = await _session(vf.manager.db, "withdata")
    assert f"Session ID {row.id} is created and ready." in out, out
    assert row.status == S.RUNNING, (row.status, row.status_info)
    async with vf.manager.db.connect() as conn:
        container_id = (await conn.execute(sa.select(kernels.c.container_id)
                                           .where(kernels.c.session_id == row.id))).scalar_one()
    docker = aiodocker.Docker()
    try:
        container = docker.containers.container(container_id)
        execution = await container.exec(["cat", "/home/work/mydata/hello.txt"])
        async with execution.start(detach=False) as stream:
            chunks = []
            while (msg := await stream.read_out()) is not None:
                chunks.append(msg.data)
        assert b"".join(chunks) == payload
        # writes from the session land in the vfolder
        execution = await container.exec(["sh", "-c", "echo result > /home/work/mydata/out.txt"])
        async with execution.start(detach=False) as stream:
            while await stream.read_out() is not None:
                pass
    finally:
        await docker.close()
    (mount,) = (m for m in row.vfolder_mounts if m["name"] == "mydata")
    assert mount["kernel_path"] == "/home/work/mydata" and mount["permission"] == "rw"
    resp = await user.request("GET", "/folders/mydata/files", json_body={"path": "."})
    assert {"hello.txt", "out.txt"} <= {f["filename"] for f in json.loads(resp.body["files"])}, resp.body
    assert "Done" in await run_cli("rm", "withdata", keypair=USER)
    await _no_containers(docker_agent)


async def test_start_options_reach_the_container(vf: Any, docker_agent: str, run_cli: Any, user: SignedClient) -> None:
    """Environment, resources, shmem, tag and a mount path given on the official CLI end up in
    the container Docker runs (docker inspect), through the manager's rows."""
    resp = await user.request("POST", "/folders", json_body={"name": "opts-data"})
    assert resp.status == 201, resp.body
    out = await run_cli("start", "-t", "optsess", "-e", "GREETING=hello there", "-r", "cpu=1", "-r", "mem=768m",
                        "--resource-opts", "shmem=96m", "--tag", "nightly", "-m", "opts-data=/home/work/custom",
                        "python", keypair=USER)
    row = await _session(vf.manager.db, "optsess")
    assert f"Session ID {row.id} is created and ready." in out, out
    assert row.tag == "nightly" and row.environ == {"GREETING": "hello there"}
    (container,) = await containers_of(docker_agent)
    assert "GREETING=hello there" in container["Config"]["Env"]
    assert container["HostConfig"]["Memory"] == 768 * 2**20
    assert container["HostConfig"]["ShmSize"] == 96 * 2**20
    assert "/home/work/custom" in {m["Destination"] for m in container["Mounts"]}
    assert "Done" in await run_cli("rm", "optsess", keypair=USER)
    await _no_containers(docker_agent)


async def test_single_node_cluster_session(vf: Any, docker_agent: str, run_cli: Any) -> None:
    """--cluster-size 2: main1 and sub1 containers on one private bridge network, told about
    each other through the BACKENDAI_CLUSTER_* environment."""
    out = await run_cli("start", "-t", "clus", "--cluster-size", "2", "-r", "mem=512m", "python", keypair=USER)
    row = await _session(vf.manager.db, "clus")
    assert f"Session ID {row.id} is created and ready." in out, out
    containers = await containers_of(docker_agent)
    assert len(containers) == 2
    envs = [dict(e.split("=", 1) for e in c["Config"]["Env"]) for c in containers]
    assert sorted(e["BACKENDAI_CLUSTER_HOST"] for e in envs) == ["main1", "sub1"]
    assert all(e["BACKENDAI_CLUSTER_SIZE"] == "2" for e in envs)
    networks = [set(c["NetworkSettings"]["Networks"]) for c in containers]
    assert networks[0] == networks[1] and networks[0] - {"bridge"}
    assert "Done" in await run_cli("rm", "clus", keypair=USER)
    await _no_containers(docker_agent)


async def test_batch_sessions_end_with_their_exit_code(vf: Any, docker_agent: str, run_cli: Any) -> None:
    for name, code, result in (("batch-ok", "exit 0", SessionResult.SUCCESS),
                               ("batch-bad", "exit 3", SessionResult.FAILURE)):
        await run_cli("start", "-t", name, "--type", "batch", "-c", f"echo working; {code}", "python", keypair=USER)

        async def ended(name: str = name) -> bool:
            return (await _session(vf.manager.db, name)).status in (S.TERMINATED, S.ERROR)

        await wait_until(ended, 60, f"{name} to end")
        row = await _session(vf.manager.db, name)
        assert (row.status, row.result) == (S.TERMINATED, result), (name, row.status, row.result, row.status_info)
    await _no_containers(docker_agent)
