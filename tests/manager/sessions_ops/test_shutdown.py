"""A manager process shutting down ends its open streams at once: SSE streams close without
server_close (so clients reconnect elsewhere) and websockets close with 1001 (going away),
instead of holding the shutdown until its timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from manager.helpers import USER, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import open_sse, signed_headers


async def test_shutdown_closes_open_streams(session_factory: SessionFactory, manager: Any) -> None:
    from ai.backend.manager.server import serve

    sess = await session_factory()
    local_config = dict(manager.local_config)
    local_config["manager"] = {**manager.local_config["manager"], "id": "i-second-process"}
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(local_config, stop=stop, ready=ready.set_result))
    port = await asyncio.wait_for(ready, 60)
    client = SignedClient(f"http://127.0.0.1:{port}", USER)
    try:
        sse_cm = open_sse(client, "/events/session", {"sessionName": "*"})
        sse = await sse_cm.__aenter__()
        assert sse.status == 200
        path = f"/stream/session/{sess.name}/execute"
        ws = await client.session.ws_connect(client.base_url + path, headers=signed_headers(client, "GET", path))
        await ws.send_json({"code": "import time\ntime.sleep(60)", "mode": "query", "options": {}})
        first = await ws.receive_json()
        assert first["status"] == "continued"

        async def read_until_closed() -> None:   # a client keeps reading, so it answers the close
            msg = await ws.receive()
            while msg.type == aiohttp.WSMsgType.TEXT:
                msg = await ws.receive()

        reader = asyncio.create_task(read_until_closed())
        t0 = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, 30)
        took = time.monotonic() - t0
        print(f"shutdown with an open SSE stream and a running websocket took {took:.2f}s")
        assert took < 15
        rest = await asyncio.wait_for(sse.content.read(), 5)
        assert b"server_close" not in rest
        await asyncio.wait_for(reader, 5)
        assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
        await ws.close()
        await sse_cm.__aexit__(None, None, None)
    finally:
        stop.set()
        await client.close()
