"""What a kernel container looks like from the inside, and how the agent manages it."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiodocker
import pytest
from aiodocker.exceptions import DockerError

from ai.backend.agent.docker.agent import DockerAgent
from ai.backend.agent.exceptions import KernelCreationFailed
from ai.backend.common import msgpack

from ..helpers import EventLog, kernel_config, of_kernel
from .conftest import IMAGE as IMAGE_NAME
from .conftest import KernelMaker, out, run

SAMPLES = Path("configs/accelerator")

INSPECT = r"""
import json, os, pwd
def read(p):
    try:
        return open(p).read().strip()
    except OSError as e:
        return 'ERR ' + str(e)
uids = {}
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            for line in open('/proc/%s/status' % pid):
                if line.startswith('Uid:'):
                    uids[pid] = int(line.split()[1])
        except OSError:
            pass
print(json.dumps({
    'mem_limit': read('/sys/fs/cgroup/memory/memory.limit_in_bytes'),
    'cpuset': read('/sys/fs/cgroup/cpuset/cpuset.cpus'),
    'affinity': sorted(os.sched_getaffinity(0)),
    'uid': os.getuid(), 'gid': os.getgid(), 'user': pwd.getpwuid(os.getuid()).pw_name,
    'home': os.environ.get('HOME'), 'cwd': os.getcwd(),
    'proc_uids': uids,
    'env': {k: v for k, v in os.environ.items() if k.startswith(('BACKENDAI_', 'OPENBLAS', 'OMP_', 'NPROC', 'CUDA'))},
    'hostname': open('/etc/hostname').read().strip(),
}))
"""


async def inspect(agent: DockerAgent, kernel_id: str) -> dict[str, Any]:
    return json.loads(out(await run(agent, kernel_id, INSPECT)))


async def test_cgroup_limits_user_and_cluster_environment(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    cluster = {"mode": "single-node", "size": 3, "replicas": {"main": 1, "sub": 2}}
    k = await make_kernel(cluster_info=cluster, mem=str(300 * 2**20), cpu="1",
                          cluster_role="sub", cluster_idx=2, local_rank=2, cluster_hostname="sub2",
                          environ={"MY_SETTING": "on"})
    spec = agent.get_kernel(k["kernel_id"]).resource_spec
    assert spec is not None
    cores = [int(c) for c in spec.device_ids("cpu")]
    info = await inspect(agent, k["kernel_id"])
    assert int(info["mem_limit"]) == 300 * 2**20
    assert info["cpuset"] == ",".join(map(str, cores)) and info["affinity"] == cores
    # every process, PID 1 included, runs as the kernel uid
    assert info["uid"] == 1100 and info["gid"] == 1100 and info["user"] == "work"
    assert set(info["proc_uids"].values()) == {1100}, info["proc_uids"]
    assert info["home"] == "/home/work" and info["cwd"] == "/home/work"
    assert info["hostname"] == "sub2"
    env = info["env"]
    assert {k: v for k, v in env.items() if k.startswith("BACKENDAI_CLUSTER_")} == {
        "BACKENDAI_CLUSTER_SIZE": "3",
        "BACKENDAI_CLUSTER_HOSTS": "main1,sub1,sub2",
        "BACKENDAI_CLUSTER_REPLICAS": "main:1,sub:2",
        "BACKENDAI_CLUSTER_HOST": "sub2",
        "BACKENDAI_CLUSTER_IDX": "2",
        "BACKENDAI_CLUSTER_ROLE": "sub",
        "BACKENDAI_CLUSTER_LOCAL_RANK": "2",
    }
    # the image's ai.backend.envs.corecount names get the core count
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["NPROC"] == "1"
    assert env["BACKENDAI_KERNEL_ID"] == k["kernel_id"]
    assert out(await run(agent, k["kernel_id"], "import os; print(os.environ['MY_SETTING'])")) == "on\n"


async def test_memory_limit_is_enforced(agent: DockerAgent, make_kernel: KernelMaker, events: EventLog) -> None:
    k = await make_kernel(mem=str(200 * 2**20))
    await run(agent, k["kernel_id"], "import subprocess")
    r = await run(agent, k["kernel_id"],
                  "import subprocess\nprint(subprocess.run(['python3', '-c', 'x = bytearray(400 * 2**20)']).returncode)")
    assert out(r) == "-9\n"  # the child was OOM-killed inside the cgroup; the kernel lives on
    assert out(await run(agent, k["kernel_id"], "print('alive')")) == "alive\n"


async def test_service_ports_from_the_image_and_intrinsic_ttyd(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel(preopen_ports=[9999])
    ports = {sp["name"]: sp for sp in k["info"]["service_ports"]}
    assert set(ports) == {"http-server", "ttyd", "9999"}
    assert ports["http-server"]["protocol"] == "http" and ports["http-server"]["container_ports"] == [8090]
    assert ports["9999"]["protocol"] == "preopen"
    kernel = agent.get_kernel(k["kernel_id"])
    await kernel.upload_file("index.html", b"<h1>served</h1>")
    assert await kernel.start_service("http-server", {}) == {"status": "started"}
    reader, writer = await asyncio.open_connection("127.0.0.1", ports["http-server"]["host_ports"][0])
    writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
    body = await reader.read()
    writer.close()
    assert body.startswith(b"HTTP/1.0 200") and body.endswith(b"<h1>served</h1>")
    assert await kernel.start_service("ttyd", {}) == {"status": "started"}
    reader, writer = await asyncio.open_connection("127.0.0.1", ports["ttyd"]["host_ports"][0])
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    assert (await reader.read(8)).startswith(b"HTTP/1.")
    writer.close()
    logs = await kernel.get_logs()
    assert "kernel runner ready" in logs and "starting http-server on port 8090" in logs


async def test_files_mounts_and_downloads(agent: DockerAgent, make_kernel: KernelMaker, tmp_path: Path) -> None:
    data = tmp_path / "vfolder"
    data.mkdir()
    (data / "input.csv").write_text("a,b\n1,2\n")
    k = await make_kernel(mounts=[{"host_path": str(data), "kernel_path": "/home/work/data", "permission": "ro"}])
    r = await run(agent, k["kernel_id"], (
        "print(open('data/input.csv').read().splitlines()[1])\n"
        "try:\n    open('data/new.txt', 'w')\nexcept OSError as e:\n    print(type(e).__name__)\n"
        "open('result.txt', 'w').write('done')\n"
    ))
    assert out(r) == "1,2\nOSError\n"
    kernel = agent.get_kernel(k["kernel_id"])
    tar = tarfile.open(fileobj=io.BytesIO(await kernel.download_file("result.txt")))
    member = tar.extractfile("result.txt")
    assert member is not None and member.read() == b"done"
    assert (agent.scratch_root / k["kernel_id"] / "work" / "result.txt").stat().st_uid == 1100
    with pytest.raises(Exception, match="outside"):
        await kernel.download_file("/etc/passwd")


async def test_restart_keeps_the_container_but_not_the_context(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel()
    await run(agent, k["kernel_id"], "x = 1\nopen('kept.txt', 'w').write('file')")
    info = await agent.restart_kernel(k["kernel_id"])
    assert info["container_id"] == k["info"]["container_id"]
    r = await run(agent, k["kernel_id"], "print(open('kept.txt').read())\nprint(x)")
    assert out(r) == "file\n" and "NameError" in out(r, "stderr")


async def test_a_kernel_that_exits_by_itself_is_reported(agent: DockerAgent, make_kernel: KernelMaker,
                                                         events: EventLog, docker_client: aiodocker.Docker) -> None:
    k = await make_kernel()
    await agent.execute(k["kernel_id"], None, "query", "import os, signal\nos.kill(1, signal.SIGTERM)", {}, 1.0)
    terminated = await events.wait_for(of_kernel(k["kernel_id"], "kernel_terminated"), timeout=20)
    assert terminated.reason == "self-terminated" and terminated.exit_code == 0  # type: ignore[attr-defined]
    assert k["kernel_id"] not in {str(x) for x in agent.kernel_registry}
    with pytest.raises(DockerError):
        await docker_client.containers.container(k["info"]["container_id"]).show()
    assert agent.resources.occupied().is_zero()


async def test_missing_image_fails_clearly(agent: DockerAgent, events: EventLog) -> None:
    kc = kernel_config(image="cr.backend.ai/stable/does-not-exist:1.0")
    with pytest.raises(KernelCreationFailed, match="not on agent .* pulling it failed.*No registry may be reachable"):
        await agent.create_kernels(kc["session_id"], [kc])  # type: ignore[list-item]
    assert await events.names(of_kernel(kc["kernel_id"])) == ["kernel_preparing", "kernel_pulling", "kernel_cancelled"]
    cancelled = await events.wait_for(of_kernel(kc["kernel_id"], "kernel_cancelled"))
    assert "ImageNotAvailable" in cancelled.reason  # type: ignore[attr-defined]
    assert agent.resources.occupied().is_zero()
    assert not (agent.scratch_root / kc["kernel_id"]).exists()


async def test_stats_are_published(agent: DockerAgent, make_kernel: KernelMaker, redis_client: Any) -> None:
    k = await make_kernel(mem=str(256 * 2**20))
    await run(agent, k["kernel_id"], "sum(range(3_000_000))")
    deadline = asyncio.get_running_loop().time() + 10
    while (raw := await redis_client.get(k["kernel_id"])) is None:
        assert asyncio.get_running_loop().time() < deadline, "no stats in Redis"
        await asyncio.sleep(0.2)
    stat = msgpack.unpackb(raw)
    assert stat["mem"]["capacity"] == str(256 * 2**20) and int(stat["mem"]["current"]) > 0
    assert float(stat["cpu_used"]["current"]) > 0 and stat["cpu_used"]["unit_hint"] == "msec"
    assert int(stat["net_rx"]["current"]) >= 0
    node = msgpack.unpackb(await redis_client.get(agent.id))
    assert "cpu_util" in node and "mem" in node
    await redis_client.delete(k["kernel_id"], agent.id)


async def test_mock_accelerator_slots_reach_heartbeat_and_container(
    agent_factory: Callable[..., Awaitable[DockerAgent]], redis_client: Any,
) -> None:
    agent = await agent_factory(
        agent={"allow-compute-plugins": ["ai.backend.accelerator.mock"]},
        plugins={"mock": {"config-file": str(SAMPLES / "mock-accelerator.toml")}},
    )
    info = await agent.agent_info()
    assert info["available_resource_slots"]["cuda.device"] == "2"
    assert info["resource_slot_types"]["cuda.device"] == "count"
    assert info["compute_plugins"]["cuda"]["extra_info"]["mock"] is True
    kc = kernel_config(resource_slots={"cpu": "1", "mem": str(256 * 2**20), "cuda.device": "1"})
    await agent.create_kernels(kc["session_id"], [kc])  # type: ignore[list-item]
    r = await run(agent, kc["kernel_id"], "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])")
    assert out(r) == "0\n"
    assert agent.resources.occupied()["cuda.device"] == 1


async def test_orphan_containers_of_this_agent_are_removed(agent: DockerAgent, docker_client: aiodocker.Docker) -> None:
    orphan = await docker_client.containers.create({
        "Image": IMAGE_NAME, "Cmd": ["sleep", "60"],
        "Labels": {"ai.backend.agent-id": agent.id, "ai.backend.kernel-id": "00000000-0000-0000-0000-00000000dead"},
    })
    stranger = await docker_client.containers.create({
        "Image": IMAGE_NAME, "Cmd": ["sleep", "60"],
        "Labels": {"ai.backend.agent-id": agent.id + "-other", "ai.backend.kernel-id": "00000000-0000-0000-0000-00000000beef"},
    })
    try:
        await orphan.start()
        await stranger.start()
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            try:
                await orphan.show()
            except DockerError:
                break
            assert asyncio.get_running_loop().time() < deadline, "the orphan was not removed"
            await asyncio.sleep(0.3)
        assert (await stranger.show())["State"]["Running"]  # another agent's container is left alone
    finally:
        await stranger.delete(force=True)
