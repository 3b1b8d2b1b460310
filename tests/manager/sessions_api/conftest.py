"""A real manager with the kernel image registered; vfolder tests reuse the storage fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from manager.sessions_api.sesshelpers import register_images
from manager.vfolders.conftest import storage, vf  # noqa: F401  (fixtures)


@pytest.fixture
async def mgr(manager: Any) -> Any:
    await register_images(manager.db)
    return manager
