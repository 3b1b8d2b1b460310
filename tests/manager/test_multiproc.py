"""`mgr start-server` with num-proc = 2: two worker processes serve one port (SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psutil

from ai.backend.manager.cli import __main__ as mgr_cli  # the module the subprocess runs
from manager.helpers import ADMIN, SignedClient, subprocess_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listeners(proc: psutil.Process, port: int) -> int:
    return sum(1 for c in proc.net_connections(kind="tcp")
               if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port)


async def test_two_workers_share_the_port(database_url: str, db_engine: Any, cluster_etcd: Any, tmp_path: Path) -> None:
    db = urlsplit(database_url)
    port = _free_port()
    config = tmp_path / "manager.toml"
    pid_file = tmp_path / "manager.pid"
    config.write_text(f"""
[etcd]
namespace = "{cluster_etcd.namespace}"
addr = "{cluster_etcd.addr}"
[db]
addr = "{db.hostname}:{db.port}"
name = "{db.path.lstrip('/')}"
user = "{db.username}"
password = "{db.password}"
[manager]
num-proc = 2
event-stream-key = "events.{cluster_etcd.namespace}"
event-broadcast-channel = "events.broadcast.{cluster_etcd.namespace}"
service-addr = "127.0.0.1:{port}"
pid-file = "{pid_file}"
""")
    proc = subprocess.Popen([sys.executable, "-m", mgr_cli.__name__, "-f", str(config), "start-server"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        main = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            workers = [c for c in main.children() if _listeners(c, port)]
            if len(workers) == 2:
                break
            await asyncio.sleep(0.3)
        assert len(workers) == 2, "both workers must listen on the service port"
        assert pid_file.read_text().strip() == str(proc.pid)

        # many fresh connections: every one is served, whichever worker the kernel picks
        async def hit() -> int:
            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/") as r:
                return r.status

        assert await asyncio.gather(*(hit() for _ in range(40))) == [200] * 40
        client = SignedClient(f"http://127.0.0.1:{port}", ADMIN)
        try:
            for _ in range(4):
                assert (await client.request("GET", "/auth", params={"echo": "x"})).status == 200
        finally:
            await client.close()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
        assert not pid_file.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
