"""`/stream/session/{name}/pty`: a terminal in the real container (the intrinsic ttyd)."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp

from manager.helpers import ADMIN, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import signed_headers


async def _read_until(ws: aiohttp.ClientWebSocketResponse, needle: str, timeout: float = 20.0) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while needle not in seen:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            data = json.loads(msg.data)
            assert data["type"] == "out", data
            seen += base64.b64decode(data["data"]).decode("utf-8", "replace")
    return seen


def _stdin(text: str) -> dict[str, str]:
    return {"type": "stdin", "chars": base64.b64encode(text.encode()).decode()}


async def test_terminal_runs_commands_and_resizes(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    path = f"/stream/session/{sess.name}/pty"
    async with user.session.ws_connect(user.base_url + path, headers=signed_headers(user, "GET", path)) as ws:
        await ws.send_json(_stdin("echo $((6 * 7))-answer\n"))
        await _read_until(ws, "42-answer")     # the typed line shows "6 * 7", only the output has 42
        await ws.send_json({"type": "resize", "rows": 30, "cols": 100})
        await ws.send_json({"type": "ping"})
        await ws.send_json(_stdin("stty size\n"))
        await _read_until(ws, "30 100")
        await ws.send_json({"type": "bogus"})
        msg = json.loads((await ws.receive()).data)
        while msg["type"] == "out":
            msg = json.loads((await ws.receive()).data)
        assert msg["type"] == "error" and "bogus" in msg["data"]


async def test_terminal_restart_and_scoping(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    path = f"/stream/session/{sess.name}/pty"
    async with user.session.ws_connect(user.base_url + path, headers=signed_headers(user, "GET", path)) as ws:
        await ws.send_json(_stdin("export MARK=before-restart; echo $MARK\n"))
        await _read_until(ws, "before-restart\r\n")
        await ws.send_json({"type": "restart"})
        await asyncio.sleep(0.5)
        await ws.send_json(_stdin("echo mark=${MARK:-gone}\n"))
        await _read_until(ws, "mark=gone")     # a fresh shell
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    path = f"/stream/session/{theirs.name}/pty"
    async with user.session.get(user.base_url + path, headers=signed_headers(user, "GET", path)) as resp:
        assert resp.status == 404
