"""A real manager with the kernel image registered, the official CLI runner; the simulated agents
and the storage proxy come from the scheduler and vfolder tests' fixtures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from client.cli.clirunner import OFFICIAL_CLI, Runner
from manager.helpers import ADMIN
from manager.sessions_api.sesshelpers import register_images
from manager.sessions_sched.conftest import sim  # noqa: F401  (fixtures: simulated agents)
from manager.vfolders.conftest import storage, vf  # noqa: F401  (fixtures: a storage proxy)


@pytest.fixture
async def mgr(manager: Any) -> Any:
    await register_images(manager.db)
    return manager


@pytest.fixture
def run_cli(manager: Any, tmp_path: Path) -> Any:
    """Runs the official client 23.9.10 against the test manager; returns stdout + stderr."""
    exe = Path(os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or OFFICIAL_CLI)
    if not exe.is_file():
        pytest.fail(f"the official client is missing at {exe}: run scripts/official-client.sh")
    runner = Runner([str(exe)], manager.url + "/", tmp_path / "cli-home", {})

    async def run(*args: str, keypair: tuple[str, str] = ADMIN, ok: bool = True) -> str:
        return (await runner(*args, keypair=keypair, ok=True if ok else None)).text

    return run
