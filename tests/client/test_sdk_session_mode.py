"""BACKEND_ENDPOINT_TYPE=session: Auth.login stores the cookie, later sessions (as later
CLI processes would) reuse it, Auth.logout forgets it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ai.backend.client.config import APIConfig, local_state_path
from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import AsyncSession, Session
from manager.conftest import RunningManager
from manager.helpers import USER

PASSWORD = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"


async def test_login_reuse_logout(manager: RunningManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_ENDPOINT", manager.url)
    monkeypatch.setenv("BACKEND_ENDPOINT_TYPE", "session")
    async with AsyncSession(config=APIConfig()) as session:
        assert session.api_version == (7, "20230615")     # negotiated via /func/
        failed = await session.Auth.login("user@lablup.com", "wrong")
        assert failed["authenticated"] is False and failed["data"]["details"]
        assert not (local_state_path() / "cookie.dat").exists()
        ok = await session.Auth.login("user@lablup.com", PASSWORD)
        assert ok["authenticated"] is True
    assert (local_state_path() / "cookie.dat").exists()

    def later_process() -> tuple[str, bool]:
        with Session(config=APIConfig()) as s:       # a fresh session loads the stored cookie
            info = s.KeyPair(USER[0]).info()
            announcement = s.Manager.get_announcement()
            return info["access_key"], announcement["enabled"]

    assert await asyncio.to_thread(later_process) == (USER[0], False)
    async with AsyncSession(config=APIConfig()) as session:
        assert (await session.KeyPair(USER[0]).info())["access_key"] == USER[0]
        with pytest.raises(BackendAPIError) as info:
            await session.Manager.freeze()
        assert info.value.status == 403
        await session.Auth.logout()
    assert not (local_state_path() / "cookie.dat").exists()
    async with AsyncSession(config=APIConfig()) as session:
        with pytest.raises(BackendAPIError) as info:
            await session.KeyPair(USER[0]).info()
        assert info.value.status == 401


def test_state_path_follows_xdg(tmp_path: Path) -> None:
    assert local_state_path() == tmp_path / "state" / "backend.ai"


async def test_update_password_in_session_mode(manager: RunningManager) -> None:
    cfg = APIConfig(endpoint=manager.url, endpoint_type="session")
    async with AsyncSession(config=cfg) as session:
        assert (await session.Auth.login("user@lablup.com", PASSWORD))["authenticated"]
        with pytest.raises(BackendAPIError) as info:
            await session.Auth.update_password("not-the-old-one", "N3w-passw0rd!", "N3w-passw0rd!")
        assert info.value.status in (400, 401, 403)
        await session.Auth.update_password(PASSWORD, "N3w-passw0rd!", "N3w-passw0rd!")
        await session.Auth.logout()
        assert (await session.Auth.login("user@lablup.com", PASSWORD))["authenticated"] is False
        assert (await session.Auth.login("user@lablup.com", "N3w-passw0rd!"))["authenticated"] is True
        await session.Auth.logout()
