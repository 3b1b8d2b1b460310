"""A RUNNING session without the scheduler: a real agent in this process, its create_kernels
RPC called directly, and the matching `sessions` + `kernels` rows with what the agent returned
(agent address, kernel host, REPL ports, container id). The manager then reaches the kernel
exactly as it would for a scheduled session.

`session_factory(owner=..., name=...)` makes one; the Docker backend is the default (real
containers of the kernel image), `backend="dummy"` gives a simulated kernel where a container
is not needed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiodocker
import pytest
import sqlalchemy as sa

from ai.backend.agent.agent import AbstractAgent
from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.rpc import AgentRPCServer
from ai.backend.common.events import EventProducer
from ai.backend.common.rpc import RPCClient
from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.common.types import ResourceSlot
from ai.backend.manager.models import agents, kernels, sessions
from manager.helpers import ADMIN, DOMAIN_ADMIN, USER

IMAGE = os.environ.get("BACKEND_TEST_KERNEL_IMAGE") or "cr.backend.ai/stable/python:3.11-debian12"
KRUNNER_DIR = os.environ.get("BACKEND_TEST_KRUNNER_DIR") or None
DEFAULT_GROUP = uuid.UUID("2de2b969-1d04-48a6-af16-0bc8adb3c831")
OWNERS = {  # access key -> user uuid (example-keypairs.json)
    USER[0]: uuid.UUID("4f13d193-f646-425a-a340-270c4d2b9860"),
    ADMIN[0]: uuid.UUID("f38dea23-50fa-42a0-b5ae-338f5f4693f4"),
    DOMAIN_ADMIN[0]: uuid.UUID("b9a9a5d5-2a43-4c4c-9f55-6c3b5e0e0c0a"),
}


@dataclass
class RunningSession:
    id: uuid.UUID
    name: str
    kernel_id: uuid.UUID
    access_key: str
    agent: AbstractAgent
    creation_info: dict[str, Any]


SessionFactory = Callable[..., Awaitable[RunningSession]]


def make_config(test_id: str, *, container: dict[str, Any], agent: dict[str, Any] | None = None) -> dict[str, Any]:
    """An agent config with a unique id, ephemeral ports and (by default) its own event stream."""
    return agent_config_from_dict({
        "etcd": {"namespace": f"test-{test_id}", "addr": os.environ.get("BACKEND_TEST_ETCD_ADDR") or "127.0.0.1:8120"},
        "agent": {"id": f"test-{test_id}-{uuid.uuid4().hex[:4]}", "rpc-listen-addr": "127.0.0.1:0",
                  "heartbeat-interval": 0.5, "event-stream-key": f"events-{test_id}",
                  "event-broadcast-channel": f"events-{test_id}.bc", **(agent or {})},
        "container": {"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 0.5, **container},
        "resource": {"reserved-cpu": 0, "reserved-mem": "256m"},
        "dummy": {"delays": {"pull-image": 0.05, "create-kernel": 0.05, "destroy-kernel": 0.01}},
    })


async def _remove_containers_of(agent_id: str) -> None:
    docker = aiodocker.Docker()
    try:
        label = f"ai.backend.agent-id={agent_id}"
        for c in await docker.containers.list(all=True, filters=json.dumps({"label": [label]})):
            await c.delete(force=True)
    finally:
        await docker.close()


async def _start_agent(backend: str, test_id: str, tmp_path: Path, redis: Any,
                       broadcast_channel: str) -> tuple[AbstractAgent, AgentRPCServer]:
    """Its kernel events are broadcast where the manager listens (SSE streams see them); the
    anycast side stays on the agent's own stream, so no scheduler acts on these sessions."""
    container = {"scratch-root": str(tmp_path / f"scratch-{backend}"), "krunner-path": KRUNNER_DIR}
    cfg = make_config(test_id, container=container)
    producer = EventProducer(redis, stream_key=cfg["agent"]["event-stream-key"], broadcast_channel=broadcast_channel)
    agent: AbstractAgent
    if backend == "docker":
        from ai.backend.agent.docker.agent import DockerAgent
        agent = DockerAgent(cfg, event_producer=producer)
    else:
        from ai.backend.agent.dummy.agent import DummyAgent
        agent = DummyAgent(cfg, event_producer=producer)
    await agent.init()
    server = AgentRPCServer(agent, "tcp://127.0.0.1:0")
    await server.start()
    agent.rpc_addr = f"tcp://127.0.0.1:{server.bound_port}"
    return agent, server


async def insert_running_session(db: Any, *, name: str, access_key: str, agent: AbstractAgent,
                                 kernel_config: dict[str, Any], info: dict[str, Any]) -> None:
    """The rows the scheduler would have written for a session RUNNING on `agent`."""
    sid, kid = uuid.UUID(kernel_config["session_id"]), uuid.UUID(kernel_config["kernel_id"])
    slots = ResourceSlot.from_user_input(kernel_config["resource_slots"])
    now = datetime.now(UTC)
    history = [{"status": s, "timestamp": now.isoformat()} for s in ("PENDING", "SCHEDULED", "RUNNING")]
    owner = {"domain_name": "default", "group_id": DEFAULT_GROUP, "user_uuid": OWNERS[access_key],
             "access_key": access_key}
    async with db.begin() as conn:
        exists = (await conn.execute(sa.select(agents.c.id).where(agents.c.id == agent.id))).first()
        if exists is None:
            await conn.execute(sa.insert(agents).values(
                id=agent.id, status=AgentStatus.ALIVE, status_changed=now, region="local",
                scaling_group="default", available_slots=agent.resources.capacity(),
                resource_slot_types={"cpu": "count", "mem": "bytes"}, addr=agent.rpc_addr,
                version="test", architecture="x86_64", compute_plugins={},
            ))
        await conn.execute(sa.insert(sessions).values(
            id=sid, name=name, images=[IMAGE], scaling_group_name="default", agent_ids=[agent.id],
            requested_slots=slots, occupying_slots=slots, status=SessionStatus.RUNNING, status_changed=now,
            status_history=history, **owner,
        ))
        await conn.execute(sa.insert(kernels).values(
            id=kid, session_id=sid, session_name=name, cluster_role="main", cluster_idx=1,
            cluster_hostname="main1", scaling_group="default", agent=agent.id, agent_addr=agent.rpc_addr,
            image=IMAGE, registry="cr.backend.ai", requested_slots=slots, occupied_slots=slots,
            container_id=info["container_id"], kernel_host=info["kernel_host"] or "127.0.0.1",
            repl_in_port=info["repl_in_port"], repl_out_port=info["repl_out_port"],
            service_ports=info["service_ports"], status=SessionStatus.RUNNING, status_changed=now,
            status_history=history, **owner,
        ))


@pytest.fixture
async def session_factory(manager: Any, redis_client: Any, test_id: str,
                          tmp_path: Path) -> AsyncIterator[SessionFactory]:
    started: dict[str, tuple[AbstractAgent, AgentRPCServer]] = {}
    clients: list[RPCClient] = []

    async def make(*, owner: str = USER[0], name: str | None = None, backend: str = "docker") -> RunningSession:
        if backend not in started:
            started[backend] = await _start_agent(backend, test_id, tmp_path, redis_client,
                                                  manager.local_config["manager"]["event-broadcast-channel"])
        agent, _ = started[backend]
        rpc = RPCClient(agent.rpc_addr, default_timeout=120)
        clients.append(rpc)
        sid, kid = str(uuid.uuid4()), str(uuid.uuid4())
        cfg = {
            "kernel_id": kid, "session_id": sid, "session_type": "interactive",
            "image": {"canonical": IMAGE, "architecture": "x86_64"},
            "cluster_role": "main", "cluster_idx": 1, "local_rank": 0, "cluster_hostname": "main1",
            "resource_slots": {"cpu": "1", "mem": str(256 * 2**20)}, "environ": {}, "mounts": [],
        }
        [info] = await rpc.call("create_kernels", sid, [cfg])
        name = name or f"sess-{uuid.uuid4().hex[:8]}"
        await insert_running_session(manager.db, name=name, access_key=owner, agent=agent,
                                     kernel_config=cfg, info=info)
        return RunningSession(uuid.UUID(sid), name, uuid.UUID(kid), owner, agent, info)

    yield make
    for rpc in clients:
        await rpc.close()
    for agent, server in started.values():
        try:
            for kid in list(agent.kernel_registry):
                await agent.destroy_kernel(kid, reason="test-cleanup")
            await server.close()
            if agent.ready:
                await agent.shutdown()
        finally:
            if agent.backend == "docker":
                await _remove_containers_of(agent.id)
