"""`/stream/session/{name}/apps` and `/tcpproxy`: the session's service ports, reached through
the manager (the in-container http-server serving /home/work)."""

from __future__ import annotations

import aiohttp
from yarl import URL

from manager.helpers import ADMIN, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import signed_headers, upload


def _url(client: SignedClient, path: str, params: dict[str, str]) -> URL:
    return URL(client.base_url + path).with_query(params)


async def test_apps_lists_the_service_ports(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    resp = await user.request("GET", f"/stream/session/{sess.name}/apps")
    assert resp.status == 200 and resp.content_type == "application/json"
    apps = {a["name"]: a for a in resp.body}
    assert apps["http-server"] == {"name": "http-server", "protocol": "http", "ports": [8090]}
    assert "ttyd" in apps


async def test_tcpproxy_relays_an_http_exchange(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    status, _ = await upload(user, sess.name, [("site/hello.txt", b"served through the proxy\n")])
    assert status == 204
    url = _url(user, f"/stream/session/{sess.name}/tcpproxy", {"app": "http-server"})
    async with user.session.ws_connect(url, headers=signed_headers(user, "GET", url.raw_path_qs)) as ws:
        await ws.send_bytes(b"GET /site/hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
        reply = b""
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.BINARY
            reply += msg.data
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and body == b"served through the proxy\n"


async def test_tcpproxy_errors(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    for params, status in [({"app": "no-such-app"}, 404), ({}, 400),
                           ({"app": "http-server", "arguments": "{not json"}, 400)]:
        url = _url(user, f"/stream/session/{sess.name}/tcpproxy", params)
        async with user.session.get(url, headers=signed_headers(user, "GET", url.raw_path_qs)) as resp:
            assert resp.status == status, (params, resp.status, await resp.text())
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    for path in (f"/stream/session/{theirs.name}/apps", f"/stream/session/{theirs.name}/tcpproxy"):
        url = _url(user, path, {"app": "http-server"})
        async with user.session.get(url, headers=signed_headers(user, "GET", url.raw_path_qs)) as resp:
            assert resp.status == 404
