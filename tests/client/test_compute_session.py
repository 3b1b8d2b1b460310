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
