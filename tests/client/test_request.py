"""Request: signing (official-client vectors), version negotiation, problem+json errors,
endpoint fail-over, sync and async sessions against a real manager."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from ai.backend.client.config import APIConfig
from ai.backend.client.exceptions import BackendAPIError, BackendClientError
from ai.backend.client.request import Request
from ai.backend.client.session import AsyncSession, Session
from client.conftest import make_config
from manager.conftest import RunningManager
from manager.helpers import ADMIN


def _vectors() -> list[dict[str, Any]]:
    path = Path(__file__).resolve().parents[2] / "tests" / "client" / "signing-vectors.json"
    return json.loads(path.read_text())["vectors"]


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: f"{v['method']} {v['path']}")
async def test_signing_vectors_via_request(vector: dict[str, Any]) -> None:
    scheme = "https" if vector["host"].endswith(":443") else "http"
    cfg = APIConfig(endpoint=f"{scheme}://{vector['host']}", access_key=vector["access_key"],
                    secret_key=vector["secret_key"])
    session = AsyncSession(config=cfg, proxy_mode=True)
    try:
        path, _, query = vector["path"].partition("?")
        params = dict(p.split("=", 1) for p in query.split("&")) if query else None
        if params:
            params = {k: URL(f"/?x={v}").query["x"] for k, v in params.items()}
        rqst = Request(session, vector["method"], path, params=params, content_type=vector["content_type"],
                       override_api_version=vector["x_backendai_version"])
        url = rqst.build_url()
        assert url.raw_path_qs == vector["path"]
        hdrs = rqst.build_headers(url, now=datetime.fromisoformat(vector["date_header"]))
        assert hdrs["Date"] == vector["date_header"]
        assert hdrs["Authorization"] == vector["authorization"]
        assert hdrs["X-BackendAI-Version"] == vector["x_backendai_version"]
    finally:
        await session.close()


async def test_version_negotiation(api_config: APIConfig) -> None:
    async with AsyncSession(config=api_config) as session:
        assert session.api_version == (7, "20230615")
        versions = await session.System.get_versions()
        assert versions["version"] == "v7.20230615" and versions["manager"]
    old = make_config_version(api_config, "v6.20220615")
    async with AsyncSession(config=old) as session:
        assert session.api_version == (6, "20220615")   # the lower of client and server
        assert (await session.KeyPair(ADMIN[0]).info())["access_key"] == ADMIN[0]


def make_config_version(cfg: APIConfig, version: str) -> APIConfig:
    return APIConfig(endpoint=list(cfg.endpoints), access_key=cfg.access_key, secret_key=cfg.secret_key,
                     version=version)


async def test_problem_json_becomes_backend_api_error(manager: RunningManager) -> None:
    bad = make_config(manager, (ADMIN[0], "wrong-secret"))
    async with AsyncSession(config=bad) as session:
        with pytest.raises(BackendAPIError) as info:
            await session.Manager.status()
    err = info.value
    assert err.status == 401
    assert err.data["type"] == "https://api.backend.ai/probs/unauthorized"
    assert "401" in str(err)
    async with AsyncSession(config=make_config(manager)) as session:
        rqst = Request("POST", "/folders")
        rqst.set_json({"name": 123})
        with pytest.raises(BackendAPIError) as info:
            async with rqst.fetch():
                pass
    assert info.value.status == 400
    assert info.value.data["type"].endswith("/invalid-api-params")
    assert "name" in info.value.data.get("msg", "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_failover_to_second_endpoint(manager: RunningManager) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    cfg = APIConfig(endpoint=f"{dead},{manager.url}", access_key=ADMIN[0], secret_key=ADMIN[1])
    async with AsyncSession(config=cfg) as session:
        assert session.api_version == (7, "20230615")
        status = await session.Manager.status()
        assert status["status"] == "running"
        assert str(cfg.endpoint) == manager.url   # the live one is now the active endpoint


async def test_all_endpoints_down_is_client_error() -> None:
    cfg = APIConfig(endpoint=f"http://127.0.0.1:{_closed_port()},http://127.0.0.1:{_closed_port()}",
                    access_key=ADMIN[0], secret_key=ADMIN[1], connection_timeout=2)
    async with AsyncSession(config=cfg) as session:
        assert session.api_version == (7, "20230615")   # negotiation falls back to the client's
        with pytest.raises(BackendClientError, match="failed"):
            await session.Manager.get_announcement()


async def test_sync_session_in_worker_thread(api_config: APIConfig) -> None:
    def work() -> tuple[Any, Any, str]:
        with Session(config=api_config) as session:
            ann = session.Manager.get_announcement()
            status = session.Manager.status()
            rqst = Request("GET", "/")
            with rqst.fetch() as resp:
                text = resp.text()
            return ann, status, text

    ann, status, text = await asyncio.to_thread(work)
    assert ann == {"enabled": False, "message": ""}
    assert status["status"] == "running"
    assert json.loads(text)["version"] == "v7.20230615"


async def test_announcement_handler_and_anonymous(manager: RunningManager) -> None:
    seen: list[str] = []
    async with AsyncSession(config=make_config(manager)) as admin:
        await admin.Manager.update_announcement(enabled=True, message="maintenance at 9")
    cfg = make_config(manager, announcement_handler=seen.append)
    async with AsyncSession(config=cfg):
        pass
    assert seen == ["maintenance at 9"]
    anon = APIConfig(endpoint=manager.url, access_key="")
    async with AsyncSession(config=anon) as session:
        assert (await session.Manager.get_announcement())["message"] == "maintenance at 9"
        with pytest.raises(BackendAPIError) as info:
            await session.Manager.status()
        assert info.value.status == 401


async def test_no_open_session_is_a_clear_error() -> None:
    with pytest.raises(BackendClientError, match="no client session"):
        Request("GET", "/")


async def test_read_timeout_is_a_client_error_and_not_retried() -> None:
    """A server that accepts but answers too late: BackendClientError after READ_TIMEOUT, and the
    request is not re-sent to the next endpoint (it may have had effects)."""
    from aiohttp import web

    hits: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        hits.append(request.path)
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/session", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        cfg = APIConfig(endpoint=f"http://127.0.0.1:{port},http://127.0.0.1:{port}", access_key=ADMIN[0],
                        secret_key=ADMIN[1], read_timeout=0.5)
        async with AsyncSession(config=cfg, proxy_mode=True) as session:
            rqst = Request(session, "POST", "/session")
            rqst.set_json({})
            with pytest.raises(BackendClientError, match="timeout"):
                async with rqst.fetch():
                    pass
    finally:
        await runner.cleanup()
    assert hits == ["/session"]


async def test_skip_sslcert_validation(tmp_path: Path) -> None:
    """HTTPS with a self-signed certificate: refused by default, accepted when
    BACKEND_SKIP_SSLCERT_VALIDATION is on."""
    import ssl
    import subprocess

    from aiohttp import web

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"version": "v7.20230615", "manager": "test"})

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        strict = APIConfig(endpoint=url, access_key="")
        async with AsyncSession(config=strict, proxy_mode=True) as session:
            with pytest.raises(BackendClientError, match="(?i)certificate|ssl"):
                await session.System.get_versions()
        lenient = APIConfig(endpoint=url, access_key="", skip_sslcert_validation=True)
        async with AsyncSession(config=lenient) as session:
            assert (await session.System.get_versions())["manager"] == "test"
    finally:
        await runner.cleanup()
