"""A real manager and storage proxy on the halfstack (the fixtures of tests/manager), and a
runner that executes `backend.ai` as a subprocess against them: ours (`cli`) and the
official client 23.9.10 (`official_cli`), with the same environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from client.cli.clirunner import OFFICIAL_CLI, Result, Runner, our_argv, our_env  # noqa: F401
from manager.conftest import cluster_etcd, db_engine, local_config, manager  # noqa: F401
from manager.vfolders.conftest import storage  # noqa: F401


@pytest.fixture
def cli(manager: Any, tmp_path: Path) -> Runner:  # noqa: F811
    return Runner(our_argv(), manager.url + "/", tmp_path / "ours", our_env())


@pytest.fixture
def official_cli(manager: Any, tmp_path: Path) -> Runner:  # noqa: F811
    path = os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or str(OFFICIAL_CLI)
    if not Path(path).is_file():
        pytest.fail(f"the official client is missing at {path}: run scripts/official-client.sh")
    return Runner([path], manager.url + "/", tmp_path / "official", {})
