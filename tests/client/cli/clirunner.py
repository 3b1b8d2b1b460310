"""Runs a `backend.ai` command line (ours or the official client 23.9.10) as a subprocess
against a test manager, with a clean environment; shared by the CLI tests and the parity harness."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from manager.helpers import ADMIN

OFFICIAL_CLI = Path.home() / ".cache" / "backend.ai" / "official-client-23.9.10" / "bin" / "backend.ai"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def _env(endpoint: str, keypair: tuple[str, str], home: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "BACKEND_ENDPOINT": endpoint, "BACKEND_ENDPOINT_TYPE": "api",
        "BACKEND_ACCESS_KEY": keypair[0], "BACKEND_SECRET_KEY": keypair[1],
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "COLUMNS": "400", "TERM": "dumb",
    }
    return env


async def run_command(argv: Sequence[str], env: dict[str, str], *, cwd: Path, input: str | None = None,
                      timeout: float = 180) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=str(cwd), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(proc.communicate(input.encode() if input is not None else None),
                                      timeout=timeout)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


class Runner:
    """Runs one CLI (ours or the official one) against the test manager."""

    def __init__(self, argv0: Sequence[str], endpoint: str, home: Path, extra_env: dict[str, str]) -> None:
        self.argv0 = list(argv0)
        self.endpoint = endpoint
        self.home = home
        self.extra_env = extra_env
        home.mkdir(parents=True, exist_ok=True)

    async def __call__(self, *args: str, keypair: tuple[str, str] = ADMIN, input: str | None = None,
                       ok: bool | None = True, cwd: Path | None = None) -> Result:
        env = {**_env(self.endpoint, keypair, self.home), **self.extra_env}
        res = await run_command([*self.argv0, *args], env, cwd=cwd or self.home, input=input)
        if ok is True:
            assert res.code == 0, f"backend.ai {' '.join(args)} exited {res.code}:\n{res.text}"
        elif ok is False:
            assert res.code != 0, f"backend.ai {' '.join(args)} should have failed:\n{res.text}"
        return res


def our_argv() -> list[str]:
    return [sys.executable, "-m", "ai.backend.cli"]


def our_env() -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
