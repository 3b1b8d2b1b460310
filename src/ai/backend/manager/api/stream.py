"""Websocket streams of a session: `/stream/session/{name}/execute`, the execute run loop over
one socket (what `run` uses); `/stream/session/{name}/pty`, a terminal (see services.session_pty);
and `/apps` + `/tcpproxy`, the service ports `backend.ai app` relays to (services.session_apps).

The client sends `{"code", "mode", "options"}` once; the server runs the same loop as the REST
API (same FIFO queue, same results) and sends every Execution Result Object as a JSON text
frame until "finished". On "waiting-input" the next text frame from the client is the input.
Errors after the upgrade are sent as `{"status": "error", "msg"}` before closing, since an
HTTP problem response is no longer possible then. Closing the socket mid-run cancels the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from ..context import ROOT_CTX
from ..errors import BackendError, InvalidAPIParameters
from ..services import session_apps, session_exec, session_pty
from ..services.session_target import KernelTarget, find_target, touch
from .utils import auth_required, json_response, resolve_owner, root_ctx

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
WS_HEARTBEAT = 20.0
TERMINAL_STATUSES = frozenset({"finished", "exec-timeout"})


def _open_sockets(request: web.Request) -> weakref.WeakSet[web.WebSocketResponse]:
    sockets: weakref.WeakSet[web.WebSocketResponse] = root_ctx(request).extensions.setdefault(
        "open_websockets", weakref.WeakSet())
    return sockets


async def _accept(request: web.Request, **kwargs: Any) -> web.WebSocketResponse:
    """Upgrade to a websocket that on_shutdown will close."""
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT, **kwargs)
    await ws.prepare(request)
    _open_sockets(request).add(ws)
    return ws


async def on_shutdown(app: web.Application) -> None:
    """Close every open stream (1001 going away) so the server need not wait for them."""
    sockets = list(app[ROOT_CTX].extensions.get("open_websockets") or ())
    await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                           for ws in sockets if not ws.closed), return_exceptions=True)


async def _target(request: web.Request) -> KernelTarget:
    owner = await resolve_owner(request, request.query.get("owner_access_key") or None)
    return await find_target(root_ctx(request), owner.access_key, request.match_info["session_name"])


async def _receive_text(ws: web.WebSocketResponse) -> str | None:
    """The next text frame, or None when the client closed the socket."""
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            return str(msg.data)
        if msg.type == WSMsgType.BINARY:
            return bytes(msg.data).decode("utf-8", "replace")
        if msg.type == WSMsgType.ERROR:
            return None
    return None


def _first_request(text: str) -> tuple[str, str, dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidAPIParameters("the first message must be a JSON object {code, mode, options}") from None
    if not isinstance(data, dict):
        raise InvalidAPIParameters("the first message must be a JSON object {code, mode, options}")
    mode = data.get("mode") or "query"
    if mode not in ("query", "batch"):
        raise InvalidAPIParameters(f"mode: a streamed run starts with query or batch, not {mode!r}")
    code = data.get("code") or ""
    opts = data.get("options") or {}
    if not isinstance(code, str) or not isinstance(opts, dict):
        raise InvalidAPIParameters("code must be a string and options an object")
    return mode, code, opts


@routes.get("/stream/session/{session_name}/execute")
@routes.get("/stream/kernel/{session_name}/execute")
@auth_required
async def stream_execute(request: web.Request) -> web.StreamResponse:
    ctx = root_ctx(request)
    target = await _target(request)     # before the upgrade: a 404/409 is still an HTTP error
    ws = await _accept(request, max_msg_size=16 * 2**20)
    run_id: str | None = None
    finished = False
    try:
        first = await _receive_text(ws)
        if first is None:
            return ws
        mode, code, opts = _first_request(first)
        while True:
            result = await session_exec.execute(ctx, target, run_id=run_id, mode=mode, code=code, opts=opts)
            run_id = result["runId"]
            await ws.send_json(result)
            await touch(ctx, target.session_id)   # a long streamed run is activity, not idleness
            if result["status"] in TERMINAL_STATUSES:
                finished = True
                break
            if result["status"] == "waiting-input":
                text = await _receive_text(ws)
                if text is None:
                    break
                mode, code, opts = "input", text, {}
            else:
                mode, code, opts = "continue", "", {}
            if ws.closed:
                break
    except BackendError as e:
        if not ws.closed:
            await ws.send_json({"runId": run_id, "status": "error", "msg": str(e), "console": [],
                                "exitCode": None, "options": None, "files": []})
    except ConnectionResetError:
        pass   # the client (or our shutdown) closed the socket mid-run
    finally:
        if run_id is not None and not finished:
            # the socket was the run: with it gone the run is cancelled, so the kernel is
            # interrupted (it may be blocked on input nobody will send) and the queue freed
            await session_exec.cancel_run(ctx, target, run_id)
        if not ws.closed:
            await ws.close()
    return ws


async def _connect_terminal(http: aiohttp.ClientSession, url: str, size: dict[str, int]) -> aiohttp.ClientWebSocketResponse:
    for attempt in range(20):   # ttyd may need a moment to listen after it was started
        try:
            term = await http.ws_connect(url, protocols=("tty",), timeout=aiohttp.ClientWSTimeout(ws_close=5))
            await term.send_bytes(session_pty.ttyd_hello(size["rows"], size["cols"]).encode())
            return term
        except (aiohttp.ClientError, OSError):
            if attempt == 19:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("unreachable")


async def _bridge(request: web.Request, target: KernelTarget, ws: web.WebSocketResponse,
                  term: aiohttp.ClientWebSocketResponse, size: dict[str, int]) -> bool:
    """Relay until either side closes; True when the client asked for a restart."""
    ctx = root_ctx(request)
    restart = False

    async def terminal_to_client() -> None:
        async for msg in term:
            out = session_pty.from_ttyd(msg)
            if out is not None and not ws.closed:
                await ws.send_json(out)

    async def client_to_terminal() -> None:
        nonlocal restart
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                kind, frame = session_pty.to_ttyd(str(msg.data))
            except BackendError as e:
                await ws.send_json({"type": "error", "data": str(e)})
                continue
            await touch(ctx, target.session_id)
            if kind == "resize":
                data = json.loads(msg.data)
                size.update(rows=int(data["rows"]), cols=int(data["cols"]))
            if kind == "restart":
                restart = True
                return
            if frame is not None:
                await term.send_bytes(frame)

    tasks = [asyncio.create_task(terminal_to_client()), asyncio.create_task(client_to_terminal())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return restart


@routes.get("/stream/session/{session_name}/pty")
@routes.get("/stream/kernel/{session_name}/pty")
@auth_required
async def stream_pty(request: web.Request) -> web.StreamResponse:
    ctx = root_ctx(request)
    target = await _target(request)
    url = await session_pty.terminal_url(ctx, target)   # before the upgrade: errors stay HTTP errors
    size = dict(session_pty.DEFAULT_SIZE)
    ws = await _accept(request)
    async with aiohttp.ClientSession() as http:
        try:
            while not ws.closed:
                term = await _connect_terminal(http, url, size)
                try:
                    restart = await _bridge(request, target, ws, term, size)
                finally:
                    await term.close()
                if not restart:
                    break
                await session_pty.restart_terminal(ctx, target)
                url = await session_pty.terminal_url(ctx, target)
        except (BackendError, aiohttp.ClientError, OSError) as e:
            if not ws.closed:
                await ws.send_json({"type": "error", "data": f"the terminal is unavailable: {e}"})
        finally:
            if not ws.closed:
                await ws.close()
    return ws


@routes.get("/stream/session/{session_name}/apps")
@routes.get("/stream/kernel/{session_name}/apps")
@auth_required
async def apps(request: web.Request) -> web.Response:
    target = await _target(request)
    return json_response(await session_apps.list_apps(root_ctx(request), target))


@routes.get("/stream/session/{session_name}/tcpproxy")
@routes.get("/stream/kernel/{session_name}/tcpproxy")
@auth_required
async def tcpproxy(request: web.Request) -> web.StreamResponse:
    """One TCP connection to an app, as binary websocket frames both ways."""
    ctx, q = root_ctx(request), request.query
    target = await _target(request)
    app = q.get("app") or ""
    if not app:
        raise InvalidAPIParameters("app: name the service to connect to")
    arguments = session_apps.parse_json_option(q.get("arguments"), "arguments")
    envs = session_apps.parse_json_option(q.get("envs"), "envs")
    host, port = await session_apps.start_app(ctx, target, app, arguments=arguments, envs=envs)
    reader, writer = await session_apps.open_connection(host, port)
    ws = await _accept(request, max_msg_size=16 * 2**20)

    last_touch = 0.0

    async def app_to_client() -> None:
        nonlocal last_touch
        while chunk := await reader.read(65536):
            await ws.send_bytes(chunk)
            now = time.monotonic()
            if now - last_touch > 1.0:   # traffic is activity; recorded at most once a second
                last_touch = now
                await touch(ctx, target.session_id)

    async def client_to_app() -> None:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                writer.write(msg.data)
                await writer.drain()
            elif msg.type == WSMsgType.TEXT:
                writer.write(str(msg.data).encode())
                await writer.drain()
            elif msg.type == WSMsgType.ERROR:
                break

    tasks = [asyncio.create_task(app_to_client()), asyncio.create_task(client_to_app())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        if not ws.closed:
            await ws.close()
    return ws
