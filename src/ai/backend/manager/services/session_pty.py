"""A terminal in the session's main container: the intrinsic ttyd service, bridged to the
`/stream/session/{name}/pty` JSON protocol.

ttyd (shipped with the kernel runtime) runs a shell in a pseudo-tty and speaks its own
websocket protocol: a JSON hello with the window size, then frames whose first byte is the
command ('0' input/output, '1' resize). The API side is the manual's protocol: JSON text
messages with base64 terminal bytes. This module only translates between the two.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import aiohttp
import sqlalchemy as sa

from ..context import RootContext
from ..errors import InvalidAPIParameters
from ..models import kernels
from .session_target import KernelTarget, SessionNotRunning, call_agent

TTYD = "ttyd"
DEFAULT_SIZE = {"rows": 25, "cols": 80}


async def terminal_url(ctx: RootContext, target: KernelTarget) -> str:
    """Start ttyd in the container (idempotent) and return its websocket URL."""
    result = await call_agent(ctx, target, "start_service", TTYD, {})
    if result.get("status") not in ("started", "running"):
        raise SessionNotRunning(f"the terminal service did not start: {result.get('error') or result}")
    async with ctx.db.connect() as conn:
        row = (await conn.execute(sa.select(kernels.c.kernel_host, kernels.c.service_ports)
                                  .where(kernels.c.id == target.kernel_id))).first()
    ports = [sp for sp in (row.service_ports or []) if sp.get("name") == TTYD] if row is not None else []
    if row is None or not ports or not ports[0].get("host_ports"):
        raise SessionNotRunning(f"session {target.session_name} has no terminal service port")
    return f"ws://{row.kernel_host or '127.0.0.1'}:{ports[0]['host_ports'][0]}/ws"


def ttyd_hello(rows: int, cols: int) -> str:
    return json.dumps({"AuthToken": "", "columns": cols, "rows": rows})


def to_ttyd(message: str) -> tuple[str, bytes | None]:
    """(kind, frame to send to ttyd or None) for one client message."""
    try:
        msg: Any = json.loads(message)
    except ValueError:
        raise InvalidAPIParameters("pty messages are JSON objects with a type") from None
    if not isinstance(msg, dict):
        raise InvalidAPIParameters("pty messages are JSON objects with a type")
    kind = msg.get("type")
    if kind == "stdin":
        try:
            return kind, b"0" + base64.b64decode(str(msg.get("chars", "")), validate=True)
        except binascii.Error:
            raise InvalidAPIParameters("stdin chars must be base64") from None
    if kind == "resize":
        try:
            rows, cols = int(msg["rows"]), int(msg["cols"])
        except (KeyError, TypeError, ValueError):
            raise InvalidAPIParameters("resize needs integer rows and cols") from None
        return kind, b"1" + json.dumps({"columns": cols, "rows": rows}).encode()
    if kind in ("ping", "restart"):
        return kind, None
    raise InvalidAPIParameters(f"unknown pty message type {kind!r} (stdin, resize, ping, restart)")


def from_ttyd(msg: aiohttp.WSMessage) -> dict[str, str] | None:
    """The client message for one ttyd frame (terminal output), or None for its other frames."""
    if msg.type == aiohttp.WSMsgType.BINARY:
        data = bytes(msg.data)
    elif msg.type == aiohttp.WSMsgType.TEXT:
        data = str(msg.data).encode()
    else:
        return None
    if data[:1] != b"0":
        return None
    return {"type": "out", "data": base64.b64encode(data[1:]).decode()}


async def restart_terminal(ctx: RootContext, target: KernelTarget) -> None:
    await call_agent(ctx, target, "shutdown_service", TTYD)
