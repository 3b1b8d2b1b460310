"""The official client 23.9.10 in session mode (`login`, then `run --rm`) against the whole
stack: our /server/login and /func dispatch carry its REST and websocket calls."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from client.stack import Stack, local_config, stack  # noqa: F401  (fixtures)

DEFAULT_CLI = Path.home() / ".cache" / "backend.ai" / "official-client-23.9.10" / "bin" / "backend.ai"
PASSWORD = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"


async def test_official_login_and_run(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    cli = os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or str(DEFAULT_CLI)
    if not Path(cli).is_file():
        pytest.fail(f"the official client is missing at {cli}: run scripts/official-client.sh")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "BACKEND_ENDPOINT": stack.url + "/",
           "BACKEND_ENDPOINT_TYPE": "session", "LANG": "C.UTF-8", "COLUMNS": "400"}

    async def run(*args: str, stdin: bytes = b"") -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(cli, *args, env=env, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout=180)
        return proc.returncode or 0, out.decode()

    rc, out = await run("login", stdin=f"user@lablup.com\n{PASSWORD}\n".encode())
    assert rc == 0 and "Login succeeded" in out, out
    rc, out = await run("run", "--rm", "-c", 'print("hello world")', "python")
    assert rc == 0, out
    assert "hello world" in out.splitlines(), out
    rc, out = await run("logout")
    assert rc == 0, out
