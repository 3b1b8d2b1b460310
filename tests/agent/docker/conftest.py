"""A DockerAgent on the real dockerd with the default kernel image; every container it makes
is removed afterwards (by the agent, and by label as a safety net)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiodocker
import pytest

from ai.backend.agent.docker.agent import DockerAgent
from ai.backend.agent.stats import StatPublisher
from ai.backend.common.events import EventProducer

from ..helpers import EventLog, kernel_config, make_config

KRUNNER_DIR = os.environ.get("BACKEND_TEST_KRUNNER_DIR") or None
IMAGE = os.environ.get("BACKEND_TEST_KERNEL_IMAGE") or "cr.backend.ai/stable/python:3.11-debian12"


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


@pytest.fixture
async def docker_client() -> AsyncIterator[aiodocker.Docker]:
    client = aiodocker.Docker()
    try:
        await client.version()
    except Exception as e:
        await client.close()
        pytest.fail(f"dockerd is not reachable ({e}); start it with scripts/dockerd.sh")
    yield client
    await client.close()


def docker_config(test_id: str, tmp_path: Path, **sections: Any) -> dict[str, Any]:
    container = {"scratch-root": str(tmp_path / "scratch"), "krunner-path": KRUNNER_DIR, **sections.pop("container", {})}
    return make_config(test_id, container=container, **sections)


@pytest.fixture
async def agent_factory(redis_client: Any, test_id: str, tmp_path: Path, docker_client: aiodocker.Docker
                        ) -> AsyncIterator[Callable[..., Awaitable[DockerAgent]]]:
    agents: list[DockerAgent] = []

    async def make(**sections: Any) -> DockerAgent:
        cfg = docker_config(test_id, tmp_path, **sections)
        producer = EventProducer(redis_client, stream_key=cfg["agent"]["event-stream-key"])
        agent = DockerAgent(cfg, event_producer=producer, stat_publisher=StatPublisher(redis_client, ttl=30))
        agents.append(agent)
        await agent.init()
        return agent

    yield make
    for agent in agents:
        try:
            for kid in list(agent.kernel_registry):
                await agent.destroy_kernel(kid, reason="test-cleanup")
            if agent.ready:
                await agent.shutdown()
        finally:
            await remove_containers_of(agent.id)


@pytest.fixture
async def agent(agent_factory: Callable[..., Awaitable[DockerAgent]]) -> DockerAgent:
    return await agent_factory()


@pytest.fixture
def events(redis_client: Any, agent: DockerAgent) -> EventLog:
    return EventLog(redis_client, agent.config["agent"]["event-stream-key"])


KernelMaker = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_kernel(agent: DockerAgent) -> KernelMaker:
    async def make(cluster_info: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        kc = kernel_config(**{"image": IMAGE, **kw})
        [info] = await agent.create_kernels(kc["session_id"], [kc], cluster_info)  # type: ignore[list-item,arg-type]
        return {**kc, "info": info}

    return make


async def run(agent: DockerAgent, kernel_id: str, code: str, *, mode: str = "query",
              opts: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One run to its end (no user input), like the client's execute loop."""
    results = [await agent.execute(kernel_id, None, mode, code, opts, flush_timeout=15)]
    while results[-1]["status"] != "finished":
        assert results[-1]["status"] != "waiting-input", results
        results.append(await agent.execute(kernel_id, results[0]["runId"], "continue", "", {}, flush_timeout=15))
    return results


def out(results: list[dict[str, Any]], stream: str = "stdout") -> str:
    return "".join(d for r in results for k, d in r["console"] if k == stream)


def new_id() -> str:
    return str(uuid.uuid4())
