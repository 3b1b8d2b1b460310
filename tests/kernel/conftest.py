"""A real kernel runner process on this host (ephemeral ports), driven through the agent's channel."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ai.backend.agent.runner_channel import KernelRunnerChannel

KRUNNER_DIR = Path(
    os.environ.get("BACKEND_TEST_KRUNNER_DIR")
    or Path.home() / ".cache/backend.ai/krunner/static-gnu-4.4.0-x86_64"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunnerProc:
    proc: asyncio.subprocess.Process
    in_port: int
    out_port: int
    workdir: Path
    root: Path

    def channel(self) -> KernelRunnerChannel:
        return KernelRunnerChannel("127.0.0.1", self.in_port, self.out_port)


async def start_runner(root: Path, *extra: str) -> RunnerProc:
    workdir = root / "work"
    workdir.mkdir(exist_ok=True)
    (root / "service-defs").mkdir(exist_ok=True)
    in_port, out_port = free_port(), free_port()
    # The runner gets our sys.path on its command line, not in PYTHONPATH: the interpreters it
    # starts (maybe another Python version) must see a clean environment, as in a container.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    bootstrap = (f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; "
                 "from ai.backend.kernel.runner import main; main(sys.argv[1:])")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", bootstrap,
        "--host", "127.0.0.1", "--in-port", str(in_port), "--out-port", str(out_port),
        "--runtime-path", sys.executable, "--workdir", str(workdir),
        "--config-dir", str(root / "config"), "--service-defs", str(root / "service-defs"),
        "--krunner-bin", str(KRUNNER_DIR / "bin"), *extra,
        env=env,
    )
    return RunnerProc(proc, in_port, out_port, workdir, root)


async def stop_runner(rp: RunnerProc) -> None:
    if rp.proc.returncode is None:
        rp.proc.terminate()
        try:
            await asyncio.wait_for(rp.proc.wait(), 10)
        except TimeoutError:
            rp.proc.kill()
            await rp.proc.wait()


@pytest.fixture
async def runner_proc(tmp_path: Path) -> AsyncIterator[RunnerProc]:
    rp = await start_runner(tmp_path)
    yield rp
    await stop_runner(rp)


@pytest.fixture
async def runner(runner_proc: RunnerProc) -> AsyncIterator[KernelRunnerChannel]:
    ch = runner_proc.channel()
    await ch.connect()
    await ch.wait_ready(30)
    yield ch
    await ch.close()


async def run_to_end(ch: KernelRunnerChannel, code: str, mode: str = "query", opts: dict | None = None,
                     flush_timeout: float = 10.0) -> list[dict]:
    """Drive one run like a client would; returns every result until finished."""
    results = [await ch.execute(None, mode, code, opts, flush_timeout=flush_timeout)]
    run_id = results[0]["runId"]
    while results[-1]["status"] != "finished":
        assert results[-1]["status"] != "waiting-input", results
        results.append(await ch.execute(run_id, "continue", "", flush_timeout=flush_timeout))
    return results


def stdout_of(results: list[dict]) -> str:
    return "".join(d for r in results for k, d in r["console"] if k == "stdout")


def stderr_of(results: list[dict]) -> str:
    return "".join(d for r in results for k, d in r["console"] if k == "stderr")
