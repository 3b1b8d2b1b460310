"""Two manager worker processes (num-proc = 2) serving one port: runs of one session keep their
FIFO order whichever worker each call lands on (the queue lives in Redis), and an SSE stream on
either worker sees the events."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from ai.backend.common.events import EventProducer
from ai.backend.common.events import session as S
from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
from ai.backend.manager.cli import __main__ as mgr_cli
from manager.helpers import USER, SignedClient, subprocess_env
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import SSEStream, console_text, execute_loop, open_sse


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def two_workers(manager: Any, tmp_path: Path) -> AsyncIterator[tuple[str, set[int]]]:
    """A second manager (2 workers) on the same database, etcd namespace and event bus."""
    cfg = manager.local_config
    db, mgr = cfg["db"], cfg["manager"]
    port = _free_port()
    config = tmp_path / "manager-mp.toml"
    config.write_text(f"""
[etcd]
namespace = "{cfg['etcd']['namespace']}"
addr = "{cfg['etcd']['addr']}"
[db]
addr = "{db['addr']}"
name = "{db['name']}"
user = "{db['user']}"
password = "{db['password']}"
[manager]
num-proc = 2
id = "i-mp-{port}"
event-stream-key = "{mgr['event-stream-key']}"
event-broadcast-channel = "{mgr['event-broadcast-channel']}"
service-addr = "127.0.0.1:{port}"
pid-file = "{tmp_path / 'manager-mp.pid'}"
""")
    proc = subprocess.Popen([sys.executable, "-m", mgr_cli.__name__, "-f", str(config), "start-server"],
                            env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        main = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        pids: set[int] = set()
        while time.monotonic() < deadline and len(pids) < 2:
            assert proc.poll() is None, "the 2-worker manager exited"
            pids = {c.pid for c in main.children()
                    if any(x.status == psutil.CONN_LISTEN and x.laddr and x.laddr.port == port
                           for x in c.net_connections(kind="tcp"))}
            await asyncio.sleep(0.3)
        assert len(pids) == 2
        yield f"http://127.0.0.1:{port}", pids
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_fifo_and_events_across_workers(session_factory: SessionFactory, two_workers: tuple[str, set[int]],
                                              manager: Any, redis_addr: Any) -> None:
    url, pids = two_workers
    port = int(url.rsplit(":", 1)[1])
    sess = await session_factory()
    clients = [SignedClient(url, USER) for _ in range(12)]   # separate connections: spread over workers
    try:
        await execute_loop(clients[0], sess.name, "order = []")
        first = asyncio.create_task(execute_loop(
            clients[1], sess.name, "import time\ntime.sleep(3)\norder.append('A')\nprint(order)", run_id="mp-A"))
        await asyncio.sleep(0.5)
        rest = []
        for i, tag in enumerate("BCD"):
            rest.append(asyncio.create_task(execute_loop(
                clients[(i + 2) % 4], sess.name, f"order.append('{tag}')\nprint(order)", run_id=f"mp-{tag}")))
            await asyncio.sleep(0.2)
        results = await asyncio.gather(first, *rest)
        assert [console_text(r) for r in results] == [
            "['A']\n", "['A', 'B']\n", "['A', 'B', 'C']\n", "['A', 'B', 'C', 'D']\n"]
        # SSE streams on fresh connections (whichever worker) all see the session end
        redis = connect(redis_addr, db=REDIS_STREAM_DB)
        mgr = manager.local_config["manager"]
        producer = EventProducer(redis, stream_key=f"{mgr['event-stream-key']}.unused",
                                 broadcast_channel=mgr["event-broadcast-channel"])
        try:
            streams = [open_sse(c, "/events/session", {"sessionName": sess.name}) for c in clients]
            responses = [await s.__aenter__() for s in streams]
            serving = {pid for pid in pids for c in psutil.Process(pid).net_connections(kind="tcp")
                       if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port}
            assert serving == pids, "the streams should be spread over both workers"
            await producer.produce_event(S.SessionTerminatedEvent(sess.id, reason="multiworker"))
            got = await asyncio.gather(*(SSEStream(r).until_close() for r in responses))
            for s in streams:
                await s.__aexit__(None, None, None)
        finally:
            await redis.aclose()
        assert all([n for n, _ in g] == ["session_terminated", "server_close"] for g in got)
    finally:
        for c in clients:
            await c.close()
