"""A real manager with the kernel image registered; vfolder tests reuse the storage fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from manager.sessions_api.sesshelpers import register_images
from manager.sessions_sched.conftest import sim  # noqa: F401  (fixtures: simulated agents)
from manager.test_official_client import (  # noqa: F401  (fixtures: the official CLI)
    official_cli,
    run_cli,
)
from manager.vfolders.conftest import storage, vf  # noqa: F401  (fixtures: a storage proxy)


@pytest.fixture
async def mgr(manager: Any) -> Any:
    await register_images(manager.db)
    return manager
