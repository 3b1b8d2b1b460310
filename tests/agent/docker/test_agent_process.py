"""The agent as a real process: RPC over ZeroMQ, heartbeats on Redis, and surviving a kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiodocker
import pytest
import tomli_w

from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
from ai.backend.common.rpc import RPCClient

from ..helpers import EventLog, kernel_config, of_kernel
from .conftest import IMAGE, KRUNNER_DIR, remove_containers_of

SAMPLES = Path("configs/accelerator").resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AgentProcess:
    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ai.backend.agent.server", "-f", str(self.config_path),
                env=env, stdout=log, stderr=log, start_new_session=True,
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
async def stream_redis(redis_addr: Any, test_id: str) -> AsyncIterator[Any]:
    """The events database the agent process writes to (REDIS_STREAM_DB)."""
    client = connect(redis_addr, db=REDIS_STREAM_DB)
    yield client
    await client.delete(f"events-{test_id}")
    await client.aclose()


@pytest.fixture
async def agent_proc(etcd: Any, redis_addr: Any, etcd_addr: Any, test_id: str,
                     tmp_path: Path) -> AsyncIterator[tuple[AgentProcess, dict[str, Any]]]:
    await etcd.put("config/redis/addr", str(redis_addr))
    port = free_port()
    agent_id = f"test-{test_id}-proc"
    cfg: dict[str, Any] = {
        "etcd": {"namespace": etcd.namespace, "addr": str(etcd_addr)},
        "agent": {
            "id": agent_id, "rpc-listen-addr": f"127.0.0.1:{port}", "heartbeat-interval": 0.5,
            "event-stream-key": f"events-{test_id}", "event-broadcast-channel": f"events-{test_id}.bc",
            "allow-compute-plugins": ["ai.backend.accelerator.mock"],
        },
        "container": {"port-range": "auto", "bind-host": "127.0.0.1", "scratch-root": str(tmp_path / "scratch")},
        "resource": {"reserved-cpu": 0, "reserved-mem": "256m"},
        "plugins": {"mock": {"config-file": str(SAMPLES / "mock-accelerator.toml")}},
        "logging": {"level": "INFO"},
    }
    if KRUNNER_DIR:
        cfg["container"]["krunner-path"] = KRUNNER_DIR
    path = tmp_path / "agent.toml"
    path.write_text(tomli_w.dumps(cfg))
    proc = AgentProcess(path, tmp_path / "agent.log")
    yield proc, {"id": agent_id, "addr": f"tcp://127.0.0.1:{port}", "stream": f"events-{test_id}"}
    if proc.proc is not None and proc.proc.returncode is None:
        proc.kill()
        await proc.wait()
    await remove_containers_of(agent_id)


async def wait_rpc(client: RPCClient, proc: AgentProcess, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await client.call("agent_info", timeout=1.0)
            return
        except Exception:
            assert proc.proc is not None
            if proc.proc.returncode is not None:
                raise AssertionError(f"the agent exited with {proc.proc.returncode}:\n{proc.logs()}") from None
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the agent did not answer RPC in {timeout}s:\n{proc.logs()}") from None
            await asyncio.sleep(0.2)


async def test_kernel_survives_an_agent_kill_and_is_adopted(
    agent_proc: tuple[AgentProcess, dict[str, Any]], stream_redis: Any,
) -> None:
    proc, meta = agent_proc
    events = EventLog(stream_redis, meta["stream"])
    await proc.start()
    rpc = RPCClient(meta["addr"], default_timeout=60)
    docker = aiodocker.Docker()
    try:
        await wait_rpc(rpc, proc)
        kc = kernel_config(image=IMAGE)
        [info] = await rpc.call("create_kernels", kc["session_id"], [kc])
        r = await rpc.call("execute", kc["kernel_id"], "r1", "query", "state = 41", {})
        assert r["status"] == "finished"

        # the heartbeat of the running agent: mock accelerator slots and the kernel
        def beat_with(status: str):  # type: ignore[no-untyped-def]
            return lambda e: (e.name == "agent_heartbeat" and e.agent_id == meta["id"] and any(
                k["kernel_id"] == kc["kernel_id"] and k["status"] == status for k in e.agent_info["kernels"]))

        hb = await events.wait_for(beat_with("RUNNING"))
        assert hb.agent_info["available_resource_slots"]["cuda.device"] == "2"  # type: ignore[attr-defined]
        assert hb.agent_info["addr"] == meta["addr"]  # type: ignore[attr-defined]

        proc.kill(signal.SIGKILL)
        await proc.wait()
        container = await docker.containers.container(info["container_id"]).show()
        assert container["State"]["Running"], "the kernel container must outlive the agent"
        await stream_redis.delete(meta["stream"])  # only what the restarted agent says from now on

        await proc.start()
        await wait_rpc(rpc, proc)
        hb = await events.wait_for(beat_with("RUNNING"), timeout=30)
        [k] = hb.agent_info["kernels"]  # type: ignore[attr-defined]
        assert k["container_id"] == info["container_id"]
        agent_info = await rpc.call("agent_info")
        assert agent_info["kernels"][0]["kernel_id"] == kc["kernel_id"]
        # the runner and its interpreter survived too: the variable is still there
        r = await rpc.call("execute", kc["kernel_id"], "r2", "query", "print(state + 1)", {})
        assert r["status"] == "finished" and r["console"] == [["stdout", "42\n"]]
        # the adopted kernel holds its allocation again
        hwinfo = await rpc.call("gather_hwinfo")
        assert set(hwinfo) == {"cpu", "mem", "cuda"}

        result = await rpc.call("destroy_kernel", kc["kernel_id"], kc["session_id"], "user-requested")
        assert result["exit_code"] == 0
        await events.wait_for(of_kernel(kc["kernel_id"], "kernel_terminated"))
        with pytest.raises(aiodocker.exceptions.DockerError):
            await docker.containers.container(info["container_id"]).show()

        proc.kill(signal.SIGTERM)
        assert await proc.wait() == 0
        await events.wait_for(lambda e: e.name == "agent_terminated" and getattr(e, "agent_id", None) == meta["id"])
    finally:
        await rpc.close()
        await docker.close()


async def test_the_agent_adopts_only_its_own_containers_and_cleans_up_dead_ones(
    agent_proc: tuple[AgentProcess, dict[str, Any]], stream_redis: Any,
) -> None:
    proc, meta = agent_proc
    events = EventLog(stream_redis, meta["stream"])
    await proc.start()
    rpc = RPCClient(meta["addr"], default_timeout=60)
    docker = aiodocker.Docker()
    try:
        await wait_rpc(rpc, proc)
        kc = kernel_config(image=IMAGE)
        [info] = await rpc.call("create_kernels", kc["session_id"], [kc])
        proc.kill(signal.SIGKILL)
        await proc.wait()
        # while the agent is away the kernel's container stops
        await docker.containers.container(info["container_id"]).kill(signal="SIGKILL")
        await proc.start()
        await wait_rpc(rpc, proc)
        terminated = await events.wait_for(of_kernel(kc["kernel_id"], "kernel_terminated"), timeout=30)
        assert terminated.reason == "self-terminated" and terminated.exit_code == 137  # type: ignore[attr-defined]
        assert (await rpc.call("agent_info"))["kernels"][0]["status"] == "TERMINATED"
        with pytest.raises(aiodocker.exceptions.DockerError):
            await docker.containers.container(info["container_id"]).show()
    finally:
        await rpc.close()
        await docker.close()
