"""Login/logout against a web-session endpoint ("session" endpoint type) and password changes.

A successful login stores the session cookie under the local state directory, so later
processes using the same endpoint stay signed in until logout."""

from __future__ import annotations

import json
from typing import Any

from ..config import local_state_path
from ..request import Request
from ..session import api_session
from .base import BaseFunction, api_function

__all__ = ("Auth",)


class Auth(BaseFunction):

    @api_function
    @classmethod
    async def login(cls, user_id: str, password: str, otp: str | None = None) -> dict[str, Any]:
        """Sign in; returns `{"authenticated": bool, "data": {...}, "cookies": ..., "config": ...}`."""
        rqst = Request("POST", "/server/login")
        body: dict[str, Any] = {"username": user_id, "password": password}
        if otp:
            body["otp"] = otp
        rqst.set_json(body)
        async with rqst.fetch(anonymous=True) as resp:
            data: dict[str, Any] = await resp.json()
            data["cookies"] = resp.raw_response.cookies
        data["config"] = {"username": user_id}
        if data.get("authenticated"):
            state = local_state_path()
            state.mkdir(parents=True, exist_ok=True)
            api_session.get().aiohttp_session.cookie_jar.save(state / "cookie.dat")  # type: ignore[attr-defined]
            (state / "config.json").write_text(json.dumps(data["config"]))
        return data

    @api_function
    @classmethod
    async def logout(cls) -> None:
        """Sign out and forget the stored cookie."""
        async with Request("POST", "/server/logout").fetch():
            pass
        state = local_state_path()
        for name in ("cookie.dat", "config.json"):
            (state / name).unlink(missing_ok=True)
        api_session.get().aiohttp_session.cookie_jar.clear()

    @api_function
    @classmethod
    async def update_password(cls, old_password: str, new_password: str, new_password2: str) -> dict[str, Any]:
        rqst = Request("POST", "/auth/update-password")
        rqst.set_json({"old_password": old_password, "new_password": new_password, "new_password2": new_password2})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def update_password_no_auth(cls, domain: str, user_id: str, current_password: str,
                                      new_password: str) -> dict[str, Any]:
        """Replace an expired password (no signature needed)."""
        rqst = Request("POST", "/auth/update-password-no-auth")
        rqst.set_json({"domain": domain, "username": user_id, "current_password": current_password,
                       "new_password": new_password})
        async with rqst.fetch(anonymous=True) as resp:
            return await resp.json()  # type: ignore[no-any-return]
