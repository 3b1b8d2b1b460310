"""The default kernel image and the krunner runtime, on the real Docker daemon."""

from __future__ import annotations

import os
from pathlib import Path

import aiodocker
import pytest

IMAGE = os.environ.get("BACKEND_TEST_KERNEL_IMAGE") or "cr.backend.ai/stable/python:3.11-debian12"
KRUNNER_DIR = os.environ.get("BACKEND_TEST_KRUNNER_DIR") or str(
    Path.home() / ".cache/backend.ai/krunner/static-gnu-4.4.0-x86_64"
)


@pytest.fixture
async def docker():
    client = aiodocker.Docker()
    try:
        await client.version()
    except Exception as e:
        await client.close()
        pytest.fail(f"dockerd is not reachable ({e}); start it with scripts/dockerd.sh")
    yield client
    await client.close()


async def _run(docker: aiodocker.Docker, cmd: list[str], binds: list[str] | None = None) -> tuple[int, str]:
    container = await docker.containers.create({
        "Image": IMAGE,
        "Cmd": cmd,
        "HostConfig": {"Binds": binds or [], "NetworkMode": "none"},
    })
    try:
        await container.start()
        result = await container.wait(timeout=60)
        logs = await container.log(stdout=True, stderr=True)
        return result["StatusCode"], "".join(logs)
    finally:
        await container.delete(force=True)


async def test_image_carries_the_backend_ai_labels(docker: aiodocker.Docker) -> None:
    info = await docker.images.inspect(IMAGE)
    labels = info["Config"]["Labels"]
    assert labels["ai.backend.kernelspec"] == "1"
    assert set(labels["ai.backend.features"].split()) == {"batch", "query", "uid-match", "user-input"}
    assert labels["ai.backend.resource.min.cpu"] == "1"
    assert labels["ai.backend.resource.min.mem"] == "256m"
    assert labels["ai.backend.base-distro"] == "debian12"
    assert labels["ai.backend.runtime-type"] == "python"
    assert labels["ai.backend.runtime-path"] == "/usr/bin/python3"
    name, proto, port = labels["ai.backend.service-ports"].split(":")
    assert (name, proto, port) == ("http-server", "http", "8090")


async def test_image_runs_its_python_and_has_service_defs(docker: aiodocker.Docker) -> None:
    code, out = await _run(docker, [
        "/usr/bin/python3", "-c",
        "import sys, json; print(sys.version_info[:2]); "
        "print(json.load(open('/etc/backend.ai/service-defs/http-server.json'))['command'][0])",
    ])
    assert code == 0, out
    assert "(3, 11)" in out
    assert "{runtime_path}" in out


async def test_krunner_runtime_runs_inside_the_image(docker: aiodocker.Docker) -> None:
    assert Path(KRUNNER_DIR, "bin", "python3").exists(), "run scripts/fetch-krunner.sh"
    code, out = await _run(
        docker,
        ["/opt/backend.ai/bin/python3", "-c", "import zmq, msgpack; print('zmq', zmq.zmq_version())"],
        binds=[f"{KRUNNER_DIR}:/opt/backend.ai:ro"],
    )
    assert code == 0, out
    assert "zmq 4.3.5" in out
