"""The websocket execute stream the official CLI's `run` uses, driven with aiohttp's ws client."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from manager.helpers import ADMIN, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import signed_headers


async def _stream(client: SignedClient, session: str, first: dict[str, Any], inputs: list[str] | None = None,
                  ) -> list[dict[str, Any]]:
    path = f"/stream/session/{session}/execute"
    inputs = list(inputs or [])
    results: list[dict[str, Any]] = []
    async with client.session.ws_connect(client.base_url + path, headers=signed_headers(client, "GET", path)) as ws:
        await ws.send_json(first)
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            result = json.loads(msg.data)
            results.append(result)
            if result["status"] == "finished":
                break
            if result["status"] == "waiting-input":
                await ws.send_str(inputs.pop(0))
    return results


def _stdout(results: list[dict[str, Any]]) -> str:
    return "".join(d for r in results for k, d in r["console"] if k == "stdout")


async def test_websocket_execute_prints_hello_world(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    results = await _stream(user, sess.name, {"code": 'print("hello world")', "mode": "query", "options": {}})
    print(_stdout(results), end="")
    assert _stdout(results) == "hello world\n"
    assert results[-1]["status"] == "finished" and results[-1]["exitCode"] == 0
    assert len({r["runId"] for r in results}) == 1


async def test_websocket_execute_input_and_batch(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    results = await _stream(user, str(sess.id), {"code": "x = input('n? ')\nprint(int(x) * 2)", "mode": "query",
                                                 "options": {}}, inputs=["21"])
    assert [r["status"] for r in results if r["status"] != "continued"] == ["waiting-input", "finished"]
    assert _stdout(results) == "n? 42\n"
    opts = {"clean": None, "build": "echo building", "buildLog": False, "exec": "echo running"}
    results = await _stream(user, sess.name, {"code": "", "mode": "batch", "options": opts})
    assert [r["status"] for r in results if r["status"] != "continued"] == ["clean-finished", "build-finished", "finished"]
    assert _stdout(results) == "building\nrunning\n"


async def test_websocket_errors(session_factory: SessionFactory, user: SignedClient) -> None:
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    path = f"/stream/session/{theirs.name}/execute"
    async with user.session.get(user.base_url + path, headers=signed_headers(user, "GET", path)) as resp:
        assert resp.status == 404 and resp.content_type == "application/problem+json"
    async with user.session.get(user.base_url + path) as resp:   # unsigned
        assert resp.status == 401
    mine = await session_factory(backend="dummy")
    path = f"/stream/session/{mine.name}/execute"
    async with user.session.ws_connect(user.base_url + path, headers=signed_headers(user, "GET", path)) as ws:
        await ws.send_str("not json")
        msg = await ws.receive_json()
        assert msg["status"] == "error" and "JSON" in msg["msg"]
