"""The guide's four example programs (examples/) run unchanged but for the image name, each as
a subprocess against the whole stack (manager + real Docker agent), configured only through
BACKEND_* environment variables like a user's shell."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import sqlalchemy as sa

from ai.backend.manager.models import sessions
from client.stack import Stack, local_config, stack  # noqa: F401  (fixtures)
from manager.helpers import USER, subprocess_env

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def _run_example(stack: Stack, name: str, cwd: Path, stdin: bytes = b"") -> tuple[int, str, str]:  # noqa: F811
    env = subprocess_env()
    env.update({"BACKEND_ENDPOINT": stack.url, "BACKEND_ACCESS_KEY": USER[0], "BACKEND_SECRET_KEY": USER[1],
                "BACKEND_ENDPOINT_TYPE": "api"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / name), cwd=cwd, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=180)
    return proc.returncode or 0, out.decode(), err.decode()


async def _live_sessions(stack: Stack) -> list[str]:  # noqa: F811
    async with stack.manager.db.connect() as conn:
        rows = (await conn.execute(sa.select(sessions.c.name, sessions.c.status))).all()
    return [r.name for r in rows if r.status.name not in ("TERMINATED", "CANCELLED", "ERROR", "TERMINATING")]


async def test_query_mode(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    rc, out, err = await _run_example(stack, "query_mode.py", tmp_path)
    assert rc == 0, err
    assert out == "hello world\n"
    assert await _live_sessions(stack) == []      # kern.destroy() ran


async def test_batch_mode(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "mycode.py").write_text("import sys\nprint('mycode got', sys.argv[1:])\n")
    (tmp_path / "setup.py").write_text("import sys\nprint('setup.py called with', sys.argv[1:])\n")
    rc, out, err = await _run_example(stack, "batch_mode.py", tmp_path)
    assert rc == 0, err
    assert "setup.py called with ['install']" in out, (out, err)
    assert "mycode got ['arg1', 'arg2']" in out, (out, err)
    assert out.index("setup.py called") < out.index("mycode got")   # build before exec
    assert await _live_sessions(stack) == []


async def test_user_input(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    rc, out, err = await _run_example(stack, "user_input.py", tmp_path, stdin=b"Backend.AI\n")
    assert rc == 0, err
    assert "What is your name? " in out
    assert out.rstrip().endswith("Hello, Backend.AI!")
    assert await _live_sessions(stack) == []


async def test_async_streaming(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    rc, out, err = await _run_example(stack, "async_streaming.py", tmp_path)
    assert rc == 0, err
    assert out == "hello world\n"
    assert await _live_sessions(stack) == []


def test_examples_differ_from_the_guide_only_in_the_image() -> None:
    guide = (Path(os.environ.get("BACKEND_REFERENCE_DIR", "/work/shared/reference")) / "client-sdk-examples.txt")
    if not guide.exists():
        return   # the reference manual is not shipped with the repository
    text = guide.read_text()
    for name in ("query_mode.py", "batch_mode.py", "async_streaming.py"):
        body = (EXAMPLES / name).read_text().replace("cr.backend.ai/stable/python:3.11-debian12",
                                                     "python:3.6-ubuntu18.04")
        start = body.index("with Session()") if "with Session()" in body else body.index("async def main")
        for line in body[start:].splitlines():
            if line.strip():
                assert line.strip() in text, f"{name}: {line!r} is not in the guide"
