"""`/stream/session/{name}/execute`: the execute run loop over one websocket (what `run` uses).

The client sends `{"code", "mode", "options"}` once; the server runs the same loop as the REST
API (same FIFO queue, same results) and sends every Execution Result Object as a JSON text
frame until "finished". On "waiting-input" the next text frame from the client is the input.
Errors after the upgrade are sent as `{"status": "error", "msg"}` before closing, since an
HTTP problem response is no longer possible then. Closing the socket mid-run cancels the run.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from ..errors import BackendError, InvalidAPIParameters
from ..services import session_exec
from ..services.session_target import KernelTarget, find_target, touch
from .utils import auth_required, resolve_owner, root_ctx

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
WS_HEARTBEAT = 20.0
TERMINAL_STATUSES = frozenset({"finished", "exec-timeout"})


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
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT, max_msg_size=16 * 2**20)
    await ws.prepare(request)
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
            if result["status"] in TERMINAL_STATUSES:
                finished = True
                break
            if result["status"] == "waiting-input":
                text = await _receive_text(ws)
                if text is None:
                    break
                mode, code, opts = "input", text, {}
                await touch(ctx, target.session_id)
            else:
                mode, code, opts = "continue", "", {}
            if ws.closed:
                break
    except BackendError as e:
        if not ws.closed:
            await ws.send_json({"runId": run_id, "status": "error", "msg": str(e), "console": [],
                                "exitCode": None, "options": None, "files": []})
    finally:
        if run_id is not None and not finished:
            # the socket was the run: with it gone the run is cancelled, so the kernel is
            # interrupted (it may be blocked on input nobody will send) and the queue freed
            await session_exec.cancel_run(ctx, target, run_id)
        if not ws.closed:
            await ws.close()
    return ws
