"""The service ports ("apps") of a session's main container and the TCP relay to them.

`backend.ai app` opens a local port and, for every connection, a `/stream/session/{name}/tcpproxy`
websocket; the manager starts the service in the container on demand (kernel runner) and
relays the bytes to its published host port.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa

from ..context import RootContext
from ..errors import InvalidAPIParameters, ObjectNotFound, ServiceUnavailable
from ..models import kernels
from .session_target import KernelTarget, call_agent

CONNECT_ATTEMPTS = 20


async def _service_ports(ctx: RootContext, target: KernelTarget) -> tuple[str, list[dict[str, Any]]]:
    async with ctx.db.connect() as conn:
        row = (await conn.execute(sa.select(kernels.c.kernel_host, kernels.c.service_ports)
                                  .where(kernels.c.id == target.kernel_id))).first()
    if row is None:
        return "127.0.0.1", []
    return row.kernel_host or "127.0.0.1", list(row.service_ports or [])


async def list_apps(ctx: RootContext, target: KernelTarget) -> list[dict[str, Any]]:
    _, ports = await _service_ports(ctx, target)
    apps = []
    for sp in ports:
        app: dict[str, Any] = {"name": sp["name"], "protocol": sp["protocol"], "ports": list(sp.get("container_ports") or [])}
        for key in ("url_template", "allowed_arguments", "allowed_envs"):
            if key in sp:
                app[key] = sp[key]
        apps.append(app)
    return apps


def parse_json_option(raw: str | None, what: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidAPIParameters(f"{what}: not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidAPIParameters(f"{what}: must be a JSON object")
    return value


async def start_app(ctx: RootContext, target: KernelTarget, app: str, *, arguments: dict[str, Any],
                    envs: dict[str, Any]) -> tuple[str, int]:
    """Make sure the service runs in the container; (host, port) to reach it."""
    host, ports = await _service_ports(ctx, target)
    found = next((sp for sp in ports if sp["name"] == app), None)
    if found is None:
        names = ", ".join(sp["name"] for sp in ports) or "none"
        raise ObjectNotFound(f"session {target.session_name} has no app {app!r} (available: {names})")
    if not found.get("host_ports"):
        raise ServiceUnavailable(f"app {app!r} has no published port")
    result = await call_agent(ctx, target, "start_service", app, {"arguments": arguments, "envs": envs})
    if result.get("status") not in ("started", "running"):
        raise ServiceUnavailable(f"app {app!r} did not start: {result.get('error') or result}")
    return host, int(found["host_ports"][0])


async def open_connection(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the app, retrying briefly (a just-started service may still be binding)."""
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            return await asyncio.open_connection(host, port)
        except OSError:
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("unreachable")
