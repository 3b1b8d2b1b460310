"""Single-node cluster networking, bootstrap scripts, shared memory and batch sessions."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiodocker
import pytest
from aiodocker.exceptions import DockerError

from ai.backend.agent.docker.agent import DockerAgent

from ..helpers import EventLog
from .conftest import IMAGE, KernelMaker, out, run


async def test_kernels_of_a_session_reach_each_other_by_hostname(
    agent: DockerAgent, make_kernel: KernelMaker, docker_client: aiodocker.Docker,
) -> None:
    sid = str(uuid.uuid4())
    network = f"bai-test-{uuid.uuid4().hex[:10]}"
    cluster = {"mode": "single-node", "size": 2, "replicas": {"main": 1, "sub": 1}, "network_name": network}
    main = await make_kernel(cluster_info=cluster, session_id=sid)
    sub = await make_kernel(cluster_info=cluster, session_id=sid, cluster_role="sub", cluster_idx=1,
                            local_rank=1, cluster_hostname="sub1")
    r = await run(agent, main["kernel_id"], "import socket\nprint(socket.gethostbyname('sub1') != '')")
    assert out(r) == "True\n"
    sub_ip = out(await run(agent, sub["kernel_id"], "import socket\nprint(socket.gethostbyname(socket.gethostname()))"))
    assert out(await run(agent, main["kernel_id"], "print(socket.gethostbyname('sub1'))")) == sub_ip
    await agent.destroy_kernel(sub["kernel_id"], sid)
    await docker_client.networks.get(network)  # still used by main1
    await agent.destroy_kernel(main["kernel_id"], sid)
    with pytest.raises(DockerError):
        await docker_client.networks.get(network)


async def test_user_bootstrap_script_runs_first_as_the_kernel_user(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel(bootstrap_script="echo prepared > /home/work/boot.txt\nid -u >> /home/work/boot.txt\n")
    assert out(await run(agent, k["kernel_id"], "print(open('boot.txt').read(), end='')")) == "prepared\n1100\n"


async def test_shared_memory_size_from_resource_opts(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel(resource_opts={"shmem": "128m"})
    r = await run(agent, k["kernel_id"], "import os\ns = os.statvfs('/dev/shm')\nprint(s.f_blocks * s.f_frsize)")
    assert out(r) == f"{128 * 2**20}\n"


async def test_batch_session_reports_success_or_failure(agent: DockerAgent, make_kernel: KernelMaker,
                                                        events: EventLog) -> None:
    ok = await make_kernel(session_type="batch", startup_command="echo fine")
    bad = await make_kernel(session_type="batch", startup_command="exit 3")
    success = await events.wait_for(lambda e: e.name == "session_success"
                                    and str(getattr(e, "session_id", "")) == ok["session_id"])
    failure = await events.wait_for(lambda e: e.name == "session_failure"
                                    and str(getattr(e, "session_id", "")) == bad["session_id"])
    assert success.exit_code == 0 and failure.exit_code == 3  # type: ignore[attr-defined]


@pytest.fixture
async def image_with_bootstrap(docker_client: aiodocker.Docker) -> AsyncIterator[str]:
    """The default image plus /opt/container/bootstrap.sh, built locally (no registry)."""
    tag = f"bai-test/bootstrap:{uuid.uuid4().hex[:8]}"
    dockerfile = (f"FROM {IMAGE}\nCOPY bootstrap.sh /opt/container/bootstrap.sh\n"
                  "RUN chmod 755 /opt/container/bootstrap.sh\n").encode()
    script = b"#!/bin/sh\nid -u > /tmp/bootstrapped-by\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("bootstrap.sh", script)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    await docker_client.images.build(fileobj=buf, encoding="identity", tag=tag, rm=True)
    yield tag
    try:
        await docker_client.images.delete(tag, force=True)
    except DockerError:
        pass


async def test_image_bootstrap_sh_runs_as_root_before_the_runner_drops_privileges(
    agent: DockerAgent, make_kernel: KernelMaker, image_with_bootstrap: str,
) -> None:
    k = await make_kernel(image=image_with_bootstrap)
    r = await run(agent, k["kernel_id"], "import os\nprint(open('/tmp/bootstrapped-by').read().strip(), os.getuid())")
    assert out(r) == "0 1100\n"


async def test_kernel_labels_identify_kernel_and_agent(agent: DockerAgent, make_kernel: KernelMaker,
                                                       docker_client: aiodocker.Docker) -> None:
    k = await make_kernel()
    info: dict[str, Any] = await docker_client.containers.container(k["info"]["container_id"]).show()
    labels = info["Config"]["Labels"]
    assert labels["ai.backend.kernel-id"] == k["kernel_id"]
    assert labels["ai.backend.session-id"] == k["session_id"]
    assert labels["ai.backend.agent-id"] == agent.id
    assert (labels["ai.backend.cluster-role"], labels["ai.backend.cluster-idx"]) == ("main", "1")
    assert info["Config"]["Hostname"] == "main1"
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/opt/backend.ai"]["RW"] is False
    assert mounts["/opt/backend.ai/lib/python3.13/site-packages/ai/backend/kernel"]["RW"] is False
    assert mounts["/home/work"]["RW"] is True
