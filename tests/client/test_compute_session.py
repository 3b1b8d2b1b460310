"""ComputeSession against the whole stack (manager + real Docker agent): create/reuse,
execute (query, batch, input), files, logs, info, rename, restart, interrupt, complete,
websocket execute, events, destroy."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ai.backend.client.config import APIConfig
from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import AsyncSession, Session
from client.conftest import make_config
from client.stack import IMAGE, Stack, local_config, stack  # noqa: F401  (fixtures)
from manager.helpers import USER
from manager.vfolders.conftest import storage  # noqa: F401  (the real storage proxy)


async def _run(kern: Any, code: str, mode: str = "query", opts: dict[str, Any] | None = None,
               inputs: list[str] | None = None) -> tuple[str, str, dict[str, Any]]:
    out, err, run_id = "", "", None
    inputs = list(inputs or [])
    while True:
        result = await kern.execute(run_id, code, mode=mode, opts=opts)
        opts = None
        run_id = result["runId"]
        for kind, text in result.get("console", []):
            if kind == "stdout":
                out += text
            elif kind == "stderr":
                err += text
        if result["status"] == "finished":
            return out, err, result
        if result["status"] == "waiting-input":
            mode, code = "input", inputs.pop(0)
        else:
            mode, code = "continue", ""


async def test_session_lifecycle_and_execution(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    cfg = make_config(stack.manager, USER)
    async with AsyncSession(config=cfg) as session:
        kern = await session.ComputeSession.get_or_create(IMAGE, name="sdk-sess-1", resources={"cpu": 1, "mem": "256m"})
        assert kern.status == "RUNNING" and kern.created is True and kern.id is not None
        again = await session.ComputeSession.get_or_create(IMAGE, name="sdk-sess-1")
        assert again.id == kern.id and again.created is False
        with pytest.raises(BackendAPIError):
            await session.ComputeSession.get_or_create(IMAGE, name="sdk-sess-1", no_reuse=True)

        out, err, result = await _run(kern, 'print("hello world")')
        assert out == "hello world\n" and result["exitCode"] == 0
        out, _, _ = await _run(kern, 'x = input("name? ")\nprint("hi", x)', inputs=["sdk"])
        assert "hi sdk" in out

        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "mycode.py").write_text("import sys\nprint('args', sys.argv[1:])\n")
        await kern.upload([tmp_path / "data" / "mycode.py"], basedir=tmp_path)
        files = json.loads((await kern.list_files("data"))["files"])
        assert [f["filename"] for f in files] == ["mycode.py"]
        out, err, _ = await _run(kern, "", mode="batch", opts={"exec": "python data/mycode.py a b"})
        assert "args ['a', 'b']" in out, err
        dest = tmp_path / "down"
        dest.mkdir()
        got = await kern.download(["data/mycode.py"], dest=dest)
        assert got["file_names"] and (dest / "mycode.py").read_text().startswith("import sys")

        info = await kern.get_info()
        assert (info["sessionId"], info["sessionName"], info["status"]) == (str(kern.id), "sdk-sess-1", "RUNNING")
        logs = await kern.get_logs()
        assert "logs" in logs["result"]
        assert "print" in await kern.complete("pri", {"row": 0, "col": 3})
        await kern.interrupt()

        await kern.rename("sdk-sess-renamed")
        assert kern.name == "sdk-sess-renamed"
        await kern.restart()
        out, _, _ = await _run(kern, 'print(6 * 7)')
        assert out == "42\n"

        stats = await kern.destroy()
        assert stats is None or isinstance(stats, dict)
        with pytest.raises(BackendAPIError) as info_err:
            await session.ComputeSession("sdk-sess-renamed").execute(None, "print(1)")
        assert info_err.value.status in (404, 409, 400)


async def test_stream_execute(stack: Stack) -> None:  # noqa: F811
    cfg = make_config(stack.manager, USER)
    async with AsyncSession(config=cfg) as session:
        kern = await session.ComputeSession.get_or_create(IMAGE, client_token="sdk-stream")
        out = ""
        async with kern.stream_execute('print("streamed")') as ws:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                result = json.loads(msg.data)
                out += "".join(t for k, t in result.get("console", []) if k == "stdout")
                if result["status"] == "finished":
                    break
        assert out == "streamed\n"

        await kern.destroy()


async def test_listen_events_parses_sse() -> None:
    """The SSE client against a small real HTTP server speaking the contract's event format
    (the manager's /events/session is not on main yet): signed GET, query, events, server_close."""
    from aiohttp import web

    from ai.backend.common import signing

    seen: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        seen["query"] = dict(request.query)
        auth = signing.parse_authorization(request.headers["Authorization"])
        seen["verified"] = signing.verify(
            secret_key=USER[1], signature=auth.signature, method="GET", path_with_query=request.raw_path,
            date_header=request.headers["Date"], host=request.headers["Host"],
            content_type=request.headers.get("Content-Type"), api_version=request.headers["X-BackendAI-Version"])
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b": comment\n\nevent: session_started\ndata: {\"sessionName\": \"s1\"}\n\n")
        await resp.write(b"event: kernel_terminated\nid: 7\ndata: {\"a\": 1,\ndata: \"b\": 2}\n\n")
        await resp.write(b"event: server_close\ndata: {}\n\n")
        await resp.write(b"event: never_seen\ndata: {}\n\n")
        return resp

    app = web.Application()
    app.router.add_get("/events/session", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        cfg = APIConfig(endpoint=f"http://127.0.0.1:{port}", access_key=USER[0], secret_key=USER[1])
        async with AsyncSession(config=cfg, proxy_mode=True) as session:
            kern = session.ComputeSession("s1")
            got = []
            async with kern.stream_events() as sse:
                async for ev in sse:
                    got.append((ev.event, json.loads(ev.data), ev.id))
    finally:
        await runner.cleanup()
    assert seen["query"] == {"sessionName": "s1", "scope": "*"} and seen["verified"] is True
    assert got == [("session_started", {"sessionName": "s1"}, None), ("kernel_terminated", {"a": 1, "b": 2}, "7"),
                   ("server_close", {}, None)]


async def test_sync_session_and_listing(stack: Stack, api_config: APIConfig) -> None:  # noqa: F811
    cfg = make_config(stack.manager, USER)

    def work() -> tuple[str, list[str]]:
        with Session(config=cfg) as session:
            kern = session.ComputeSession.get_or_create(IMAGE, name="sdk-sync")
            result = kern.execute(None, 'print("sync")', mode="query")
            text = "".join(t for k, t in result.get("console", []) if k == "stdout")
            page = session.ComputeSession.paginated_list(status="RUNNING")
            names = [item["name"] for item in page.items]
            kern.destroy()
            return text, names

    text, names = await asyncio.to_thread(work)
    assert text == "sync\n"
    assert "sdk-sync" in names


async def test_get_or_create_parameters(stack: Stack, storage: Any, tmp_path: Path) -> None:  # noqa: F811
    """envs, tag, resources, enqueue_only, mounts (a real vfolder), type_ and startup_command."""
    cfg = make_config(stack.manager, USER)
    async with AsyncSession(config=cfg) as session:
        await session.VFolder.create("sdkdata", host="local:volume1")
        (tmp_path / "hello.txt").write_text("from a vfolder\n")
        await session.VFolder("sdkdata").upload([tmp_path / "hello.txt"], basedir=tmp_path)

        kern = await session.ComputeSession.get_or_create(
            IMAGE, name="sdk-params", envs={"SDK_VAR": "sdk-value"}, tag="sdk-tag",
            resources={"cpu": 1, "mem": "512m"}, enqueue_only=True, mounts=["sdkdata"])
        assert kern.status in ("PENDING", "SCHEDULED", "PREPARING", "PULLING", "PREPARED", "CREATING", "RUNNING")
        for _ in range(300):
            info = await kern.get_info()
            if info["status"] == "RUNNING":
                break
            assert info["status"] not in ("ERROR", "CANCELLED", "TERMINATED"), info
            await asyncio.sleep(0.2)
        assert info["status"] == "RUNNING" and info["tag"] == "sdk-tag", info
        code = ("import os\nprint(os.environ['SDK_VAR'])\n"
                "print(open('/home/work/sdkdata/hello.txt').read(), end='')")
        out, err, _ = await _run(kern, code)
        assert out == "sdk-value\nfrom a vfolder\n", err
        await kern.destroy()

        batch = await session.ComputeSession.get_or_create(
            IMAGE, name="sdk-batch", type_="batch", startup_command="echo batch-ran", enqueue_only=True)
        for _ in range(300):
            info = await batch.get_info()
            if info["status"] in ("TERMINATED", "ERROR"):
                break
            await asyncio.sleep(0.2)
        assert info["status"] == "TERMINATED" and info["type"] in ("BATCH", "batch"), info


async def test_create_from_template(stack: Stack) -> None:  # noqa: F811
    template = f"""
api_version: v1
kind: taskTemplate
metadata:
  name: tpl-sdk
  tag: from-template
spec:
  kernel:
    image: {IMAGE}
    environ:
      TPL_VAR: from-template
      OTHER: kept
  resources:
    cpu: '1'
    mem: 256m
"""
    cfg = make_config(stack.manager, USER)
    async with AsyncSession(config=cfg) as session:
        tpl = await session.SessionTemplate.create(template)
        kern = await session.ComputeSession.create_from_template(tpl.template_id, name="sdk-from-tpl")
        assert kern.status == "RUNNING" and kern.name == "sdk-from-tpl"
        info = await kern.get_info()
        assert info["tag"] == "from-template"
        out, err, _ = await _run(kern, "import os\nprint(os.environ['TPL_VAR'], os.environ['OTHER'])")
        assert out == "from-template kept\n", err
        await kern.destroy()

        over = await session.ComputeSession.create_from_template(tpl.template_id, name="sdk-from-tpl2",
                                                                 envs={"TPL_VAR": "overridden"})
        out, err, _ = await _run(over, "import os\nprint(os.environ['TPL_VAR'])")
        assert out == "overridden\n", err
        await over.destroy()
        with pytest.raises(BackendAPIError) as info_err:
            await session.ComputeSession.create_from_template("0" * 32)
        assert info_err.value.status == 404


async def test_listen_events_end_to_end(stack: Stack) -> None:  # noqa: F811
    """Lifecycle events of a real session over /events/session until the server closes it."""
    cfg = make_config(stack.manager, USER)
    async with AsyncSession(config=cfg) as session:
        kern = await session.ComputeSession.get_or_create(IMAGE, name="sdk-events")
        events: list[tuple[str, Any]] = []
        subscribed = asyncio.Event()

        async def listen() -> None:
            async with kern.listen_events() as sse:
                subscribed.set()
                async for ev in sse:
                    events.append((ev.event, json.loads(ev.data)))

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(subscribed.wait(), timeout=30)
        await asyncio.sleep(0.3)
        await kern.destroy()
        await asyncio.wait_for(listener, timeout=60)
    names = [name for name, _ in events]
    assert names[-1] == "server_close", names
    assert "session_terminated" in names, names
    data = dict(events)["session_terminated"]
    assert data.get("sessionName") == "sdk-events" or data.get("sessionId") == str(kern.id), data


async def test_stream_pty(stack: Stack) -> None:  # noqa: F811
    """A terminal over the websocket: stdin in, screen output back, resize accepted."""
    import base64

    cfg = make_config(stack.manager, USER)
    async with AsyncSession(config=cfg) as session:
        kern = await session.ComputeSession.get_or_create(IMAGE, name="sdk-pty")
        screen = ""
        async with kern.stream_pty() as pty:
            await pty.resize(30, 100)
            await pty.send_json({"type": "stdin", "chars": base64.b64encode(b"echo pty-$((6*7))\r").decode()})
            async with asyncio.timeout(60):
                async for msg in pty:
                    data = json.loads(msg.data)
                    assert data["type"] == "out", data
                    screen += base64.b64decode(data["data"]).decode(errors="replace")
                    if "pty-42" in screen:
                        break
        assert "pty-42" in screen
        await kern.destroy()


async def test_agent_functions(stack: Stack, api_config: APIConfig) -> None:  # noqa: F811
    async with AsyncSession(config=api_config) as session:
        page = await session.Agent.paginated_list(status="ALIVE")
        assert stack.agent_id in [a["id"] for a in page.items]
        detail = await session.Agent.detail(stack.agent_id, fields=["id", "status", "available_slots"])
        assert detail["id"] == stack.agent_id and detail["status"] == "ALIVE"
        assert "cpu" in json.loads(detail["available_slots"])
    async with AsyncSession(config=make_config(stack.manager, USER)) as session:
        with pytest.raises(BackendAPIError):
            await session.Agent.detail(stack.agent_id)


async def test_session_mode_runs_code(stack: Stack) -> None:  # noqa: F811
    """BACKEND_ENDPOINT_TYPE=session: REST execute and the websocket both go through /func."""
    cfg = APIConfig(endpoint=stack.url, endpoint_type="session")
    async with AsyncSession(config=cfg) as session:
        assert (await session.Auth.login("user@lablup.com", "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"))["authenticated"]
        kern = await session.ComputeSession.get_or_create(IMAGE, name="sdk-websession")
        out, err, _ = await _run(kern, 'print("via func")')
        assert out == "via func\n", err
        streamed = ""
        async with kern.stream_execute('print("ws via func")') as ws:
            async for msg in ws:
                result = json.loads(msg.data)
                streamed += "".join(t for k, t in result.get("console", []) if k == "stdout")
                if result["status"] == "finished":
                    break
        assert streamed == "ws via func\n"
        await kern.destroy()
        await session.Auth.logout()


async def test_owner_access_key_bootstrap_and_dependencies(stack: Stack, api_config: APIConfig) -> None:  # noqa: F811
    """An admin creates sessions for a user (owner_access_key) with a bootstrap script, in a
    named scaling group, the second depending on the first."""
    async with AsyncSession(config=api_config) as admin, \
            AsyncSession(config=make_config(stack.manager, USER)) as user:
        first = await admin.ComputeSession.get_or_create(
            IMAGE, name="sdk-owned", owner_access_key=USER[0], scaling_group="default", cluster_size=1,
            cluster_mode="single-node", bootstrap_script="echo booted > /home/work/boot.txt\n")
        assert first.status == "RUNNING"
        mine = user.ComputeSession("sdk-owned")
        info = await mine.get_info()
        assert info["sessionId"] == str(first.id)
        out, err, _ = await _run(mine, "print(open('/home/work/boot.txt').read(), end='')")
        assert out == "booted\n", err
        second = await admin.ComputeSession.get_or_create(
            IMAGE, name="sdk-dependent", owner_access_key=USER[0], dependencies=[str(first.id)], enqueue_only=True)
        graph = await user.ComputeSession("sdk-dependent").get_dependency_graph()
        assert str(first.id) in json.dumps(graph), graph
        with pytest.raises(BackendAPIError) as refused:   # forcing is for admins only
            await user.ComputeSession("sdk-dependent").destroy(forced=True)
        assert refused.value.status == 403
        await admin.ComputeSession("sdk-dependent", owner_access_key=USER[0]).destroy(forced=True)
        await admin.ComputeSession("sdk-owned", owner_access_key=USER[0]).destroy()
        assert second.id != first.id
