"""A whole stack for end-to-end client tests: the real manager (scheduler included), the
kernel image registered from the local dockerd as a rescan would, and one real Docker agent
on the manager's event bus, RPC and etcd namespace. Every container is removed afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiodocker
import pytest
import sqlalchemy as sa

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.server import AgentServer, SharedServices, build_agent
from ai.backend.common.status import AgentStatus
from ai.backend.common.types import HostPortPair
from ai.backend.manager.models import agents
from ai.backend.manager.services import image_scan
from ai.backend.manager.services import images as image_service

IMAGE = os.environ.get("BACKEND_TEST_KERNEL_IMAGE") or "cr.backend.ai/stable/python:3.11-debian12"
KRUNNER_DIR = os.environ.get("BACKEND_TEST_KRUNNER_DIR") or None
SCHED_CONFIG = {"tick-interval": 0.3, "redrive-interval": 0.5, "rpc-timeout": 30.0}


@dataclass
class Stack:
    manager: Any     # RunningManager
    agent_id: str

    @property
    def url(self) -> str:
        return str(self.manager.url)


async def register_local_images(db: Any) -> None:
    records = await image_scan.scan_local_docker()
    if not records:
        pytest.fail(f"no kernel image in the local dockerd; build it with scripts/build-kernel-image.sh ({IMAGE})")
    async with db.begin() as conn:
        await image_service.upsert(conn, records)
        try:
            await image_service.alias(conn, "python", IMAGE)
        except Exception:   # already aliased
            pass


async def remove_containers_of(agent_id: str) -> None:
    docker = aiodocker.Docker()
    try:
        label = f"ai.backend.agent-id={agent_id}"
        for c in await docker.containers.list(all=True, filters=json.dumps({"label": [label]})):
            await c.delete(force=True)
        for net in await docker.networks.list(filters={"label": [label]}):
            await (await docker.networks.get(net["Id"])).delete()
    finally:
        await docker.close()


async def start_docker_agent(manager: Any, etcd_addr: HostPortPair, test_id: str,
                             tmp_path: Path) -> tuple[AgentServer, SharedServices]:
    mgr = manager.local_config["manager"]
    cfg = agent_config_from_dict({
        "etcd": {"namespace": manager.etcd.namespace, "addr": str(etcd_addr)},
        "agent": {"id": f"ag-{test_id}-{uuid.uuid4().hex[:4]}", "mode": "docker",
                  "rpc-listen-addr": "127.0.0.1:0", "heartbeat-interval": 0.5,
                  "event-stream-key": mgr["event-stream-key"],
                  "event-broadcast-channel": mgr["event-broadcast-channel"]},
        "container": {"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 5,
                      "scratch-root": str(tmp_path / "scratch"), "krunner-path": KRUNNER_DIR},
        "resource": {"reserved-cpu": 0, "reserved-mem": "256m"},
    })
    services = SharedServices(cfg)
    await services.connect()
    server = AgentServer(build_agent(cfg, services), services)
    await server.start()
    return server, services


async def wait_agent_alive(db: Any, agent_id: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with db.connect() as conn:
            row = (await conn.execute(sa.select(agents.c.status).where(agents.c.id == agent_id))).first()
        if row is not None and row.status == AgentStatus.ALIVE:
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"agent {agent_id} did not register with the manager within {timeout}s")


@pytest.fixture
def local_config(local_config: dict[str, Any]) -> dict[str, Any]:
    from ai.backend.manager.config import scheduler_config_iv

    local_config["scheduler"] = scheduler_config_iv.check(SCHED_CONFIG)
    return local_config


@pytest.fixture
async def stack(manager: Any, etcd_addr: HostPortPair, test_id: str, tmp_path: Path) -> AsyncIterator[Stack]:
    await register_local_images(manager.db)
    server, services = await start_docker_agent(manager, etcd_addr, test_id, tmp_path)
    agent_id = server.agent.id
    try:
        await wait_agent_alive(manager.db, agent_id)
        yield Stack(manager, agent_id)
    finally:
        try:
            for kid in list(server.agent.kernel_registry):
                await server.agent.destroy_kernel(kid, reason="test-cleanup")
            await server.stop()
            await services.close()
        finally:
            await remove_containers_of(agent_id)
