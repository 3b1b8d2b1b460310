"""Batch mode, file operations, service ports and the manual's one-shot query exchange."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

from ai.backend.agent.runner_channel import KernelRunnerChannel, RunnerError
from ai.backend.kernel.bootstrap import ensure_user
from ai.backend.kernel.service import ServiceError, run_prestart

from .conftest import RunnerProc, free_port, run_to_end, start_runner, stderr_of, stdout_of


async def test_batch_builds_and_runs_an_uploaded_file(runner: KernelRunnerChannel, runner_proc: RunnerProc) -> None:
    await runner.upload_file("src/hello.py", b"import sys\nprint('hello from', sys.argv[1])\n")
    assert (runner_proc.workdir / "src" / "hello.py").is_file()
    opts = {"clean": "rm -rf build", "build": "mkdir -p build && cp src/hello.py build/app.py && echo built",
            "exec": "python3 build/app.py batch"}
    r1 = await runner.execute(None, "batch", "", opts, flush_timeout=10)
    assert r1["status"] == "clean-finished" and r1["exitCode"] == 0
    r2 = await runner.execute(r1["runId"], "continue", "", flush_timeout=10)
    assert r2["status"] == "build-finished" and r2["exitCode"] == 0 and r2["console"] == [["stdout", "built\n"]]
    r3 = await runner.execute(r1["runId"], "continue", "", flush_timeout=10)
    assert r3["status"] == "finished" and r3["exitCode"] == 0
    assert r3["console"] == [["stdout", "hello from batch\n"]]


async def test_failed_build_skips_exec_with_127(runner: KernelRunnerChannel) -> None:
    results = await run_to_end(runner, "", "batch", {"build": "echo oops >&2; exit 3", "exec": "echo never"})
    assert [r["status"] for r in results] == ["clean-finished", "build-finished", "finished"]
    assert results[1]["exitCode"] == 3 and results[2]["exitCode"] == 127
    assert "never" not in stdout_of(results) and "oops" in stderr_of(results)


async def test_exec_exit_code_and_build_only_runs(runner: KernelRunnerChannel) -> None:
    results = await run_to_end(runner, "", "batch", {"exec": "echo out; exit 5"})
    assert results[-1]["exitCode"] == 5 and stdout_of(results) == "out\n"
    build_only = await run_to_end(runner, "", "batch", {"build": "exit 2"})
    assert build_only[-1]["exitCode"] == 2


async def test_default_steps_run_main_py(runner: KernelRunnerChannel) -> None:
    missing = await run_to_end(runner, "", "batch", {"build": "*", "exec": "*"})
    assert missing[-1]["exitCode"] == 127 and "main.py" in stderr_of(missing)
    await runner.upload_file("main.py", b"print('main ran')\n")
    results = await run_to_end(runner, "", "batch", {"clean": "*", "build": "*", "exec": "*"})
    assert results[-1]["exitCode"] == 0 and stdout_of(results) == "main ran\n"


async def test_interrupting_a_batch_command(runner: KernelRunnerChannel) -> None:
    r1 = await runner.execute(None, "batch", "", {"exec": "echo started; sleep 30"}, flush_timeout=1.0)
    while r1["status"] != "continued":
        r1 = await runner.execute(r1["runId"], "continue", "", flush_timeout=1.0)
    await runner.interrupt()
    r2 = await runner.execute(r1["runId"], "continue", "", flush_timeout=10)
    assert r2["status"] == "finished" and r2["exitCode"] == 130


async def test_file_listing_download_and_confinement(runner: KernelRunnerChannel, runner_proc: RunnerProc) -> None:
    await runner.upload_file("data/a.txt", b"A" * 10)
    await runner.upload_file(str(runner_proc.workdir / "data" / "b.txt"), b"B")
    listing = await runner.list_files("data")
    assert [(f["filename"], f["size"]) for f in listing["files"]] == [("a.txt", 10), ("b.txt", 1)]
    assert listing["files"][0]["mode"] == "-rw-r--r--" and listing["abspath"] == str(runner_proc.workdir / "data")
    tar = tarfile.open(fileobj=io.BytesIO(await runner.download_file("data")))
    assert sorted(tar.getnames()) == ["data", "data/a.txt", "data/b.txt"]
    os.symlink("/etc", runner_proc.workdir / "etc-link")
    for bad in ("../outside.txt", "/etc/passwd", "etc-link/passwd"):
        with pytest.raises(RunnerError, match="inside|outside"):
            await runner.upload_file(bad, b"x")
    for bad in ("..", "/etc", "etc-link"):
        with pytest.raises(RunnerError, match="outside"):
            await runner.list_files(bad)
        with pytest.raises(RunnerError, match="outside"):
            await runner.download_file(bad)
    with pytest.raises(RunnerError, match="no such file"):
        await runner.download_file("missing.bin")
    assert not Path(runner_proc.root, "outside.txt").exists()


async def test_service_from_a_definition_file(runner: KernelRunnerChannel, runner_proc: RunnerProc) -> None:
    (runner_proc.root / "service-defs" / "web.json").write_text(json.dumps({
        "prestart": [
            {"action": "mkdir", "args": {"path": "{home}/site"}, "ref": "unused"},
            {"action": "write_tempfile", "args": {"body": ["port={ports[0]}\n"]}, "ref": "cfg"},
            {"action": "run_command", "args": {"command": ["cat", "{cfg}"]}, "ref": "cat"},
            {"action": "write_file", "args": {"filename": "{home}/site/index.html", "body": ["{cat[out]}"], "mode": "644"}},
            {"action": "log", "args": {"body": "starting web on {ports[0]}"}},
        ],
        "command": ["{runtime_path}", "-m", "http.server", "--directory", "{home}/site", "{ports[0]}"],
        "url_template": "http://{host}:{port}/",
    }).replace("{home}", str(runner_proc.workdir)))
    port = free_port()
    assert await runner.start_service("web", [port]) == {"status": "started"}
    assert await runner.start_service("web", [port]) == {"status": "running"}
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    body = await reader.read()
    writer.close()
    assert body.endswith(f"port={port}\n".encode())
    assert await runner.shutdown_service("web") == {"status": "stopped"}
    with pytest.raises(RunnerError, match="no definition for service 'nope'"):
        await runner.start_service("nope", [port])
    with pytest.raises(RunnerError, match="invalid service name"):
        await runner.start_service("../x", [port])


async def test_intrinsic_ttyd_service(runner: KernelRunnerChannel) -> None:
    port = free_port()
    assert await runner.start_service("ttyd", [port]) == {"status": "started"}
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    head = await reader.read(12)
    writer.close()
    assert head.startswith(b"HTTP/1.")
    await runner.shutdown_service("ttyd")


async def test_prestart_errors_are_reported() -> None:
    with pytest.raises(ServiceError, match="unknown prestart action 'rm_rf'"):
        await run_prestart([{"action": "rm_rf", "args": {}}], {})
    with pytest.raises(ServiceError, match="cannot fill template"):
        await run_prestart([{"action": "mkdir", "args": {"path": "{nope}"}}], {})


async def test_the_manuals_one_shot_query_exchange(tmp_path: Path) -> None:
    rp = await start_runner(tmp_path)
    zctx = zmq.asyncio.Context()
    push, pull = zctx.socket(zmq.PUSH), zctx.socket(zmq.PULL)
    try:
        push.connect(f"tcp://127.0.0.1:{rp.in_port}")
        pull.connect(f"tcp://127.0.0.1:{rp.out_port}")
        await push.send_multipart([b"a1b2c3", b"import sys\nprint('hello world!')\nprint('oops!', file=sys.stderr)\nraise ValueError('bad', 2)"])
        frames = await asyncio.wait_for(pull.recv_multipart(), 30)
        assert len(frames) == 1
        reply = json.loads(frames[0])
        assert reply["stdout"] == "hello world!\n"
        assert reply["stderr"].startswith("oops!\n") and "ValueError" in reply["stderr"]
        name, args, outside, tb = reply["exceptions"][0]
        assert (name, args, outside) == ("ValueError", ["bad", 2], False) and "Traceback" in tb
        assert reply["media"] == [] and reply["options"] == {"upload_output_files": True}
    finally:
        push.close(0)
        pull.close(0)
        zctx.term()
        from .conftest import stop_runner
        await stop_runner(rp)


def test_ensure_user_adds_passwd_and_group_entries(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nwork:x:1000:1000::/home/x:/bin/sh\n")
    (tmp_path / "group").write_text("root:x:0:\n")
    assert ensure_user(1100, 1100, etc=tmp_path) == "work1100"
    assert "work1100:x:1100:1100::/home/work:" in (tmp_path / "passwd").read_text()
    assert "work:x:1100:" in (tmp_path / "group").read_text()
    assert ensure_user(1100, 1100, etc=tmp_path) == "work1100"  # idempotent
    assert ensure_user(1000, 1000, etc=tmp_path) == "work"        # an existing uid keeps its name
    assert (tmp_path / "passwd").read_text().count("\n") == 3
