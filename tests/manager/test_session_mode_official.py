"""The official client 23.9.10 with BACKEND_ENDPOINT_TYPE=session against our manager's
web login: `login` (username/password on stdin), commands through /func, `logout`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

DEFAULT_CLI = Path.home() / ".cache" / "backend.ai" / "official-client-23.9.10" / "bin" / "backend.ai"
PASSWORD = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"


@pytest.fixture
def run_session_cli(manager: Any, tmp_path: Path) -> Any:
    cli = os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or str(DEFAULT_CLI)
    if not Path(cli).is_file():
        pytest.fail(f"the official client is missing at {cli}: run scripts/official-client.sh")

    async def run(*args: str, stdin: bytes = b"") -> tuple[int, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "BACKEND_ENDPOINT": manager.url + "/",
            "BACKEND_ENDPOINT_TYPE": "session", "LANG": "C.UTF-8", "COLUMNS": "400",
        }
        proc = await asyncio.create_subprocess_exec(
            cli, *args, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout=120)
        return proc.returncode or 0, out.decode()

    return run


async def test_official_client_login_commands_logout(run_session_cli: Any, tmp_path: Path) -> None:
    rc, out = await run_session_cli("login", stdin=b"user@lablup.com\nwrong-password\n")
    assert "Login failed" in out, out
    rc, out = await run_session_cli("login", stdin=f"user@lablup.com\n{PASSWORD}\n".encode())
    assert rc == 0 and "Login succeeded" in out, out
    assert (tmp_path / "state" / "backend.ai" / "cookie.dat").exists()

    rc, out = await run_session_cli("vfolder", "list-hosts")
    assert rc == 0, out
    rc, out = await run_session_cli("admin", "keypair", "info")
    assert rc == 0 and "AKIANABBDUSEREXAMPLE" in out, out

    rc, out = await run_session_cli("logout")
    assert rc == 0 and "Logout done" in out, out
    rc, out = await run_session_cli("admin", "keypair", "info")
    assert "AKIANABBDUSEREXAMPLE" not in out and "401" in out, out
