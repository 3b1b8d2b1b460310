"""Code execution in real containers of the default kernel image."""

from __future__ import annotations

import aiodocker
import pytest
from aiodocker.exceptions import DockerError

from ai.backend.agent.docker.agent import DockerAgent

from ..helpers import EventLog, of_kernel
from .conftest import KernelMaker, out, run


async def test_query_mode_print_and_context(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel()
    r = await agent.execute(k["kernel_id"], "run-1", "query", "print(1)", {}, flush_timeout=15)
    assert r == {"runId": "run-1", "status": "finished", "console": [["stdout", "1\n"]],
                 "exitCode": 0, "options": None, "files": []}
    await run(agent, k["kernel_id"], "counter = 41")
    assert out(await run(agent, k["kernel_id"], "counter += 1\nprint(counter)")) == "42\n"


async def test_batch_builds_and_runs_an_uploaded_file(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel()
    kernel = agent.get_kernel(k["kernel_id"])
    await kernel.upload_file("app/greet.py", b"import sys\nprint('hello', sys.argv[1])\n")
    opts = {"clean": "rm -rf dist", "build": "mkdir -p dist && python3 -m py_compile app/greet.py && cp app/greet.py dist/",
            "exec": "python3 dist/greet.py batch"}
    results = await run(agent, k["kernel_id"], "", mode="batch", opts=opts)
    assert [r["status"] for r in results] == ["clean-finished", "build-finished", "finished"]
    assert [r["exitCode"] for r in results] == [0, 0, 0]
    assert out(results) == "hello batch\n"
    listing = await kernel.list_files("dist")
    assert [f["filename"] for f in listing["files"]] == ["greet.py"]


async def test_user_input_round_trip(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel()
    r1 = await agent.execute(k["kernel_id"], None, "query", "n = input('Number? ')\nprint(int(n) * 2)", {}, 15)
    assert r1["status"] == "waiting-input" and r1["options"] == {"is_password": False}
    assert r1["console"] == [["stdout", "Number? "]]
    r2 = await agent.execute(k["kernel_id"], r1["runId"], "input", "21", {}, 15)
    assert r2["status"] == "finished" and r2["console"] == [["stdout", "42\n"]]


async def test_interrupt_then_more_code(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel()
    await run(agent, k["kernel_id"], "before = 'kept'")
    r1 = await agent.execute(k["kernel_id"], None, "query", "while True: pass", {}, 1.0)
    assert r1["status"] == "continued"
    await agent.get_kernel(k["kernel_id"]).interrupt()
    r2 = await agent.execute(k["kernel_id"], r1["runId"], "continue", "", {}, 15)
    assert r2["status"] == "finished" and "KeyboardInterrupt" in out([r2], "stderr")
    assert out(await run(agent, k["kernel_id"], "print(before, 1 + 1)")) == "kept 2\n"


async def test_completion_returns_candidates(agent: DockerAgent, make_kernel: KernelMaker) -> None:
    k = await make_kernel()
    await run(agent, k["kernel_id"], "import json\nsession_total = 3")
    kernel = agent.get_kernel(k["kernel_id"])
    assert "session_total" in await kernel.complete("sess", {})
    assert {"json.dumps", "json.loads"} <= set(await kernel.complete("json.", {}))


async def test_destroy_removes_the_container_and_reports(agent: DockerAgent, make_kernel: KernelMaker,
                                                         events: EventLog, docker_client: aiodocker.Docker) -> None:
    k = await make_kernel()
    cid = k["info"]["container_id"]
    assert (await docker_client.containers.container(cid).show())["State"]["Running"]
    scratch = agent.scratch_root / k["kernel_id"]
    assert (scratch / "work").is_dir()
    result = await agent.destroy_kernel(k["kernel_id"], k["session_id"], "user-requested")
    assert result["exit_code"] == 0 and result["last_stat"]["mem"]["capacity"] == str(256 * 2**20)
    with pytest.raises(DockerError) as e:
        await docker_client.containers.container(cid).show()
    assert e.value.status == 404
    assert not scratch.exists()
    assert await events.names(of_kernel(k["kernel_id"])) == [
        "kernel_preparing", "kernel_creating", "kernel_started", "kernel_terminating", "kernel_terminated",
    ]
    terminated = await events.wait_for(of_kernel(k["kernel_id"], "kernel_terminated"))
    assert terminated.exit_code == 0 and terminated.reason == "user-requested"  # type: ignore[attr-defined]
    assert agent.resources.occupied().is_zero()
