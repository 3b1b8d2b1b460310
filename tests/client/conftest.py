"""The client SDK runs against a real manager (tests/manager/conftest.py) on the halfstack.

`api_config` points an APIConfig at it with the superadmin keypair; `user_config` with the
example user's. Sync `Session` calls block, so tests run them in a thread
(`asyncio.to_thread`) while the manager keeps serving on the test's event loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ai.backend.client.config import APIConfig, set_config
from manager.conftest import *  # noqa: F403  (the real-manager fixtures)
from manager.conftest import RunningManager
from manager.helpers import ADMIN, USER


@pytest.fixture(autouse=True)
def _isolated_client_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No BACKEND_*/SORNA_* from the developer's shell, no .env, private state dir."""
    import os

    for key in list(os.environ):
        if key.startswith(("BACKEND_", "SORNA_")) and not key.startswith("BACKEND_TEST_"):
            monkeypatch.delenv(key)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    set_config(None)
    yield
    set_config(None)


def make_config(manager: RunningManager, keypair: tuple[str, str] = ADMIN, **kwargs: object) -> APIConfig:
    return APIConfig(endpoint=manager.url, access_key=keypair[0], secret_key=keypair[1], **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def api_config(manager: RunningManager) -> APIConfig:
    return make_config(manager, ADMIN)


@pytest.fixture
def user_config(manager: RunningManager) -> APIConfig:
    return make_config(manager, USER)
