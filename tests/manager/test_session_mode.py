"""The "session" endpoint type against a real manager: cookie login/logout/login-check and
`/func/<path>` running as the logged-in user (REST, GraphQL, errors, version probe)."""

from __future__ import annotations

from typing import Any

import aiohttp

from manager.conftest import RunningManager


async def _json(resp: aiohttp.ClientResponse) -> Any:
    return await resp.json(content_type=None)


async def test_login_func_proxy_logout(manager: RunningManager) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        base = manager.url
        async with http.get(f"{base}/func/") as r:   # the version probe works before login
            assert r.status == 200 and (await _json(r))["version"] == "v7.20230615"
        async with http.get(f"{base}/func/manager/status") as r:
            assert r.status == 401 and r.content_type == "application/problem+json"
            assert "login" in (await _json(r))["msg"]
        async with http.post(f"{base}/server/login-check") as r:
            assert (await _json(r))["authenticated"] is False

        async with http.post(f"{base}/server/login", json={"username": "user@lablup.com",
                                                           "password": "wrong"}) as r:
            body = await _json(r)
            assert r.status == 200 and body["authenticated"] is False and body["data"]["details"]
        async with http.post(f"{base}/server/login", json={"username": "user@lablup.com",
                                                           "password": "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"}) as r:
            body = await _json(r)
            assert r.status == 200 and body["authenticated"] is True, body
            assert body["data"]["role"] == "user"
        async with http.post(f"{base}/server/login-check") as r:
            assert (await _json(r))["data"]["username"] == "user@lablup.com"

        async with http.post(f"{base}/func/admin/gql", json={"query": "{ keypair { access_key is_admin } }"}) as r:
            assert r.status == 200
            assert (await _json(r))["data"]["keypair"] == {"access_key": "AKIANABBDUSEREXAMPLE", "is_admin": False}
        async with http.get(f"{base}/func/folders/_/hosts") as r:
            assert r.status == 200
        async with http.put(f"{base}/func/manager/status", json={"status": "frozen"}) as r:
            assert r.status == 403    # the user's own privileges apply
        async with http.get(f"{base}/func/no/such/path") as r:
            assert r.status == 404

        async with http.post(f"{base}/server/logout") as r:
            assert r.status == 200
        async with http.get(f"{base}/func/manager/status") as r:
            assert r.status == 401


async def test_stolen_or_forged_cookie_is_refused(manager: RunningManager) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        http.cookie_jar.update_cookies({"BACKENDAI_SESSION": "forged-token"})
        async with http.get(f"{manager.url}/func/manager/status") as r:
            assert r.status == 401
