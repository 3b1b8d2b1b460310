"""The per-session run queue's safety valves: a run whose client vanished stops blocking the
session, a run that waits too long ends with exec-timeout, and a websocket that closes mid-run
frees the queue at once (interrupting what it left on the kernel). The manager runs in this process, so the limits are patched small."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from ai.backend.manager.services import session_exec
from manager.helpers import SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import console_text, execute_loop, signed_headers


async def _first_call(client: SignedClient, session: str, code: str, run_id: str) -> dict[str, Any]:
    resp = await client.request("POST", f"/session/{session}", json_body={"mode": "query", "code": code, "runId": run_id})
    assert resp.status == 200, resp.body
    return dict(resp.body["result"])


async def test_an_abandoned_run_stops_blocking_the_queue(session_factory: SessionFactory, user: SignedClient,
                                                         monkeypatch: Any) -> None:
    monkeypatch.setattr(session_exec, "ABANDON_AFTER", 1.5)
    sess = await session_factory()
    # run A waits for input and its client never calls again
    r = await _first_call(user, sess.name, "print('A got', input('A? '))", "run-A")
    assert r["status"] == "waiting-input"
    # run B queues behind it and gets its turn once A counts as abandoned (A is interrupted
    # on the kernel, which would otherwise wait for A's input forever)
    t0 = time.monotonic()
    results = await execute_loop(user, sess.name, "print('B ran')", run_id="run-B")
    assert console_text(results) == "B ran\n"
    assert time.monotonic() - t0 >= 1.0   # B did wait for A to count as abandoned
    resp = await user.request("POST", f"/session/{sess.name}", json_body={"mode": "input", "code": "x", "runId": "run-A"})
    # A's client coming back late learns its run was interrupted; the input goes nowhere
    assert resp.status == 200 and resp.body["result"]["status"] == "finished"
    assert "KeyboardInterrupt" in console_text([resp.body["result"]], "stderr")


async def test_a_run_waiting_too_long_ends_with_exec_timeout(session_factory: SessionFactory, user: SignedClient,
                                                             monkeypatch: Any) -> None:
    monkeypatch.setattr(session_exec, "QUEUE_TIMEOUT", 1.0)
    monkeypatch.setattr(session_exec, "TURN_WAIT", 0.5)
    sess = await session_factory()
    busy = asyncio.create_task(execute_loop(user, sess.name, "import time\ntime.sleep(5)\nprint('busy done')",
                                            run_id="busy"))
    await asyncio.sleep(0.5)
    late = await execute_loop(user, sess.name, "print('never')", run_id="late")
    assert late[-1]["status"] == "exec-timeout" and console_text(late) == ""
    assert console_text(await busy) == "busy done\n"
    # the queue is free again
    assert console_text(await execute_loop(user, sess.name, "print('after')")) == "after\n"


async def test_closing_the_websocket_mid_run_frees_the_queue(session_factory: SessionFactory,
                                                             user: SignedClient) -> None:
    sess = await session_factory()
    path = f"/stream/session/{sess.name}/execute"
    async with user.session.ws_connect(user.base_url + path, headers=signed_headers(user, "GET", path)) as ws:
        await ws.send_json({"code": "x = input('waiting: ')", "mode": "query", "options": {}})
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT
            if json.loads(msg.data)["status"] == "waiting-input":
                break
    # closing the socket cancelled the run: the kernel no longer waits for that input, and
    # the next run is served at once
    results = await execute_loop(user, sess.name, "print('next ran')")
    assert console_text(results) == "next ran\n" and results[0]["status"] == "finished"


async def test_legacy_completion_on_the_execute_path(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    await execute_loop(user, sess.name, "legacy_name_42 = 1")
    resp = await user.request("POST", f"/session/{sess.name}",
                              json_body={"code": "legacy_na", "options": {"row": 0, "col": 9, "line": "legacy_na",
                                                                          "post": ""}})
    assert resp.status == 200 and "legacy_name_42" in resp.body["result"]


async def test_a_run_the_kernel_lost_does_not_hold_the_queue(session_factory: SessionFactory,
                                                             user: SignedClient) -> None:
    sess = await session_factory()
    r = await _first_call(user, sess.name, "print('lost', input())", "lost-run")
    assert r["status"] == "waiting-input"
    # the session is restarted behind the run's back: the kernel forgets every run
    resp = await user.request("PATCH", f"/session/{sess.name}")
    assert resp.status in (200, 204), resp.body
    resp = await user.request("POST", f"/session/{sess.name}",
                              json_body={"mode": "input", "code": "x", "runId": "lost-run"})
    assert resp.status == 400 and "lost-run" in resp.body["msg"]
    t0 = time.monotonic()
    assert console_text(await execute_loop(user, sess.name, "print('next')")) == "next\n"
    assert time.monotonic() - t0 < 10   # not held until the run would count as abandoned
