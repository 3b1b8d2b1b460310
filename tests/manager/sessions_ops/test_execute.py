"""The REST execute loop against a real container: the SDK examples (query, batch, user input)
over plain signed HTTP, FIFO order of concurrent runs, interrupt, completion, and scoping."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa

from ai.backend.common.redis_helper import REDIS_LIVE_DB, connect
from ai.backend.common.status import SessionStatus
from ai.backend.manager.models import kernels, sessions
from manager.helpers import ADMIN, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import console_text, execute_loop


async def test_query_mode_hello_world_with_server_assigned_run_id(
        session_factory: SessionFactory, user: SignedClient, manager: Any) -> None:
    sess = await session_factory()
    results = await execute_loop(user, sess.name, 'print("hello world")')
    assert console_text(results) == "hello world\n"
    assert results[-1]["status"] == "finished" and results[-1]["exitCode"] == 0
    run_id = results[0]["runId"]
    assert isinstance(run_id, str) and len(run_id) >= 8
    assert all(r["runId"] == run_id for r in results)
    assert set(results[-1]) >= {"runId", "status", "console", "exitCode", "options", "files"}
    # the session id works as well as the name, and the kernel keeps its state between runs
    await execute_loop(user, str(sess.id), "counter = 41")
    assert console_text(await execute_loop(user, sess.name, "counter += 1\nprint(counter)")) == "42\n"
    async with manager.db.connect() as conn:
        nq = (await conn.execute(sa.select(sessions.c.num_queries).where(sessions.c.id == sess.id))).scalar()
        kq = (await conn.execute(sa.select(kernels.c.num_queries).where(kernels.c.id == sess.kernel_id))).scalar()
    assert nq == 3 and kq == 3


async def test_long_run_continues_with_partial_output(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    code = "import time\nfor i in range(4):\n    print(f'Tick {i+1}', flush=True)\n    time.sleep(1)\nprint('done')"
    results = await execute_loop(user, sess.name, code, run_id="my-own-run-1")
    assert [r["runId"] for r in results] == ["my-own-run-1"] * len(results)
    assert results[0]["status"] == "continued" and len(results) >= 2
    assert console_text(results) == "Tick 1\nTick 2\nTick 3\nTick 4\ndone\n"


async def test_batch_mode_build_then_exec(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    kernel = sess.agent.get_kernel(sess.kernel_id)
    await kernel.upload_file("mycode.py", b"import sys\nprint('args:', *sys.argv[1:])\n")
    opts = {"clean": "rm -rf __pycache__", "build": "python3 -m py_compile mycode.py && echo built",
            "buildLog": False, "exec": "python3 mycode.py arg1 arg2"}
    results = await execute_loop(user, sess.name, "", mode="batch", opts=opts)
    statuses = [r["status"] for r in results if r["status"] != "continued"]
    assert statuses == ["clean-finished", "build-finished", "finished"]
    assert [r["exitCode"] for r in results if r["status"] != "continued"] == [0, 0, 0]
    assert console_text(results) == "built\nargs: arg1 arg2\n"
    # a failing build stops the run before exec, still reaching "finished"
    bad = await execute_loop(user, sess.name, "", mode="batch", opts={"build": "exit 3", "exec": "echo never"})
    assert [r["exitCode"] for r in bad if r["status"] == "build-finished"] == [3]
    assert bad[-1]["status"] == "finished" and "never" not in console_text(bad)


async def test_user_input_round_trip(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    code = 'print("What is your name?")\nname = input(">> ")\nprint(f"Hello, {name}!")'
    results = await execute_loop(user, sess.name, code, inputs=["Lablup"])
    waiting = [r for r in results if r["status"] == "waiting-input"]
    assert len(waiting) == 1 and waiting[0]["options"] == {"is_password": False}
    assert console_text(results) == "What is your name?\n>> Hello, Lablup!\n"
    pw = await execute_loop(user, sess.name, "import getpass\nprint(len(getpass.getpass('pw: ')))", inputs=["secret"])
    assert [r["options"] for r in pw if r["status"] == "waiting-input"] == [{"is_password": True}]
    assert console_text(pw).endswith("6\n")


async def test_concurrent_runs_are_served_in_fifo_order(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    await execute_loop(user, sess.name, "order = []")
    first = asyncio.create_task(execute_loop(
        user, sess.name, "import time\ntime.sleep(3)\norder.append('A')\nprint('A', order)", run_id="run-A"))
    await asyncio.sleep(0.5)   # A is in flight on the kernel
    t0 = time.monotonic()
    second = asyncio.create_task(execute_loop(user, sess.name, "order.append('B')\nprint('B', order)", run_id="run-B"))
    await asyncio.sleep(0.2)
    third = asyncio.create_task(execute_loop(user, sess.name, "order.append('C')\nprint('C', order)", run_id="run-C"))
    ra, rb, rc = await asyncio.gather(first, second, third)
    assert console_text(ra) == "A ['A']\n"
    assert console_text(rb) == "B ['A', 'B']\n"
    assert console_text(rc) == "C ['A', 'B', 'C']\n"
    # B waited for A: its first answer was an empty "continued", not B's output
    assert rb[0]["status"] == "continued" and rb[0]["console"] == [] and rb[0]["runId"] == "run-B"
    print(f"B waited {time.monotonic() - t0:.2f}s behind A")


async def test_interrupt_stops_a_busy_run(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    await execute_loop(user, sess.name, "kept = 'yes'")
    resp = await user.request("POST", f"/session/{sess.name}",
                              json_body={"mode": "query", "code": "while True: pass", "runId": "busy"})
    assert resp.status == 200 and resp.body["result"]["status"] == "continued"
    resp = await user.request("POST", f"/session/{sess.name}/interrupt")
    assert resp.status == 204
    rest = await execute_loop(user, sess.name, "", mode="continue", run_id="busy")
    assert rest[-1]["status"] == "finished" and "KeyboardInterrupt" in console_text(rest, "stderr")
    assert console_text(await execute_loop(user, sess.name, "print(kept)")) == "yes\n"


async def test_completion(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    await execute_loop(user, sess.name, "import json\nsession_total = 3")
    resp = await user.request("POST", f"/session/{sess.name}/complete",
                              json_body={"code": "sess", "options": {"row": 0, "col": 4, "line": "sess", "post": ""}})
    assert resp.status == 200 and "session_total" in resp.body["result"]
    resp = await user.request("POST", f"/session/{sess.name}/complete", json_body={"code": "json.", "options": {}})
    assert {"json.dumps", "json.loads"} <= set(resp.body["result"])


async def test_last_access_is_recorded(session_factory: SessionFactory, user: SignedClient, redis_addr: Any) -> None:
    sess = await session_factory(backend="dummy")
    live = connect(redis_addr, db=REDIS_LIVE_DB)
    try:
        before = time.time()
        resp = await user.request("POST", f"/session/{sess.name}/interrupt")
        assert resp.status == 204
        raw = await live.get(f"session.{sess.id}.last_access")
        assert raw is not None and before - 0.01 <= float(raw) <= time.time()
        await live.delete(f"session.{sess.id}.last_access")
    finally:
        await live.aclose()


async def test_bad_requests_are_clear_4xx(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory(backend="dummy")
    resp = await user.request("POST", f"/session/{sess.name}", json_body={"mode": "shout", "code": "x"})
    assert resp.status == 400 and resp.content_type == "application/problem+json" and "mode" in resp.body["msg"]
    resp = await user.request("POST", f"/session/{sess.name}", json_body={"mode": "continue", "code": ""})
    assert resp.status == 400 and "runId" in resp.body["msg"]
    resp = await user.request("POST", f"/session/{sess.name}", json_body={"mode": "query", "code": 42})
    assert resp.status == 400
    resp = await user.request("POST", "/session/no-such-session", json_body={"mode": "query", "code": "1"})
    assert resp.status == 404 and resp.content_type == "application/problem+json"


async def test_other_users_session_is_not_found(session_factory: SessionFactory, user: SignedClient,
                                                admin: SignedClient) -> None:
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    for path, body in [
        (f"/session/{theirs.name}", {"mode": "query", "code": "print(1)"}),
        (f"/session/{theirs.id}", {"mode": "query", "code": "print(1)"}),
        (f"/session/{theirs.name}/interrupt", None),
        (f"/session/{theirs.name}/complete", {"code": "pri"}),
    ]:
        resp = await user.request("POST", path, json_body=body)
        assert resp.status == 404, (path, resp.status, resp.body)
    resp = await user.request("POST", f"/session/{theirs.name}/interrupt", params={"owner_access_key": ADMIN[0]})
    assert resp.status == 403
    # the owner (an admin acting for itself) reaches it
    resp = await admin.request("POST", f"/session/{theirs.name}/interrupt")
    assert resp.status == 204


async def test_a_kernel_gone_from_its_agent_is_a_clear_409(session_factory: SessionFactory, user: SignedClient,
                                                           manager: Any) -> None:
    sess = await session_factory(backend="dummy")
    await sess.agent.destroy_kernel(sess.kernel_id, sess.id, "behind-the-managers-back")
    for method, path, body in [("POST", f"/session/{sess.name}", {"mode": "query", "code": "1"}),
                               ("POST", f"/session/{sess.name}/interrupt", None),
                               ("GET", f"/session/{sess.name}/files", None)]:
        resp = await user.request(method, path, json_body=body)
        assert resp.status == 409, (path, resp.status, resp.body)
        assert resp.body["type"].endswith("/kernel-not-running") and sess.name in resp.body["msg"]
    # a session that is not RUNNING in the database is refused before any agent call
    async with manager.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == sess.id)
                           .values(status=SessionStatus.TERMINATING))
    resp = await user.request("POST", f"/session/{sess.name}", json_body={"mode": "query", "code": "1"})
    assert resp.status == 409 and "TERMINATING" in resp.body["msg"]
