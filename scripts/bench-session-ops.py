"""Benchmark: one real Docker session through the whole path, and the per-session operations.

    ./py scripts/bench-session-ops.py [--rounds 5] [--calls 30] [--tick 2.0]

Stands up a throwaway stack in this process -- a fresh PostgreSQL database (schema + example
fixtures + the local kernel images), an etcd namespace, the manager (scheduler included) on an
ephemeral port and a Docker agent on the manager's event bus -- then measures, over signed HTTP
like any client:
  * create-to-RUNNING: POST /session (blocking) until it answers RUNNING;
  * create-to-first-output: POST /session, then the websocket execute of print("hello world")
    until the first stdout item arrives (what `backend.ai run` shows the user);
  * REST execute and websocket execute round trips of a one-line query on a warm session;
  * a 1 MiB upload and its download (tar part);
  * DELETE /session until the container is gone;
  * SSE fan-out: --listeners `/events/session` streams, latency from producing a lifecycle
    event to each stream receiving it.
Prints medians and p95 over the rounds/calls. The halfstack and dockerd must be running and the
kernel image built (scripts/build-kernel-image.sh). Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import sqlalchemy as sa

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.docker.agent import DockerAgent
from ai.backend.agent.server import AgentServer
from ai.backend.common import signing
from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.events import EventProducer
from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
from ai.backend.common.status import AgentStatus
from ai.backend.common.types import HostPortPair
from ai.backend.manager import config as manager_config
from ai.backend.manager.models import agents, migration
from ai.backend.manager.models.dbutils import create_engine
from ai.backend.manager.server import serve
from ai.backend.manager.services import fixtures, image_scan
from ai.backend.manager.services import images as image_service

ROOT = Path(__file__).resolve().parents[1]
USER = ("AKIANABBDUSEREXAMPLE", "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf")
API_VERSION = "v7.20230615"
IMAGE = os.environ.get("BACKEND_TEST_KERNEL_IMAGE") or "cr.backend.ai/stable/python:3.11-debian12"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):8.1f} ms   p95 {pct(values, 0.95):8.1f} ms   (n={len(values)})"


class Client:
    """Signs requests like the official client."""

    def __init__(self, base_url: str, keypair: tuple[str, str]) -> None:
        self.base_url = base_url
        self.keypair = keypair
        self.http = aiohttp.ClientSession()

    def headers(self, method: str, path: str, content_type: str) -> dict[str, str]:
        hdrs = {"X-BackendAI-Version": API_VERSION, "X-BackendAI-Domain": "default"}
        hdrs.update(signing.sign_headers(
            access_key=self.keypair[0], secret_key=self.keypair[1], method=method, path_with_query=path,
            host=urlsplit(self.base_url).netloc, content_type=content_type, api_version=API_VERSION,
            now=datetime.now(UTC)))
        return hdrs

    async def json(self, method: str, path: str, body: Any = None) -> Any:
        hdrs = self.headers(method, path, "application/json")
        hdrs["Content-Type"] = "application/json"
        async with self.http.request(method, self.base_url + path, data=json.dumps(body) if body is not None else b"",
                                     headers=hdrs) as resp:
            data = await resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path} -> {resp.status}: {data[:500]!r}")
            return json.loads(data) if data else None

    async def ws_first_output(self, session: str, code: str) -> tuple[float, str]:
        """(ms until the first stdout item, all stdout) of one websocket run."""
        path = f"/stream/session/{session}/execute"
        t0 = time.perf_counter()
        first: float | None = None
        out = ""
        async with self.http.ws_connect(self.base_url + path,
                                        headers=self.headers("GET", path, "application/octet-stream")) as ws:
            await ws.send_json({"code": code, "mode": "query", "options": {}})
            async for msg in ws:
                result = json.loads(msg.data)
                for kind, data in result["console"]:
                    if kind == "stdout":
                        first = first if first is not None else (time.perf_counter() - t0) * 1000
                        out += data
                if result["status"] == "finished":
                    break
        return (first if first is not None else float("nan")), out

    async def upload(self, session: str, name: str, data: bytes) -> None:
        path = f"/session/{session}/upload"
        form = aiohttp.FormData()
        form.add_field("src", data, filename=name, content_type="application/octet-stream")
        async with self.http.post(self.base_url + path, data=form,
                                  headers=self.headers("POST", path, "multipart/form-data")) as resp:
            if resp.status != 204:
                raise RuntimeError(f"upload -> {resp.status}: {await resp.text()}")

    async def download(self, session: str, name: str) -> bytes:
        path = f"/session/{session}/download"
        hdrs = self.headers("GET", path, "application/json")
        hdrs["Content-Type"] = "application/json"
        async with self.http.get(self.base_url + path, data=json.dumps({"files": [name]}), headers=hdrs) as resp:
            reader = aiohttp.MultipartReader.from_response(resp)
            part = await reader.next()
            assert isinstance(part, aiohttp.BodyPartReader)
            return bytes(await part.read())

    async def sse(self, path: str, params: dict[str, str]) -> aiohttp.ClientResponse:
        from yarl import URL

        url = URL(self.base_url + path).with_query(params)
        resp = await self.http.get(url, headers=self.headers("GET", url.raw_path_qs, "application/octet-stream"),
                                   timeout=aiohttp.ClientTimeout(total=None))
        if resp.status != 200:
            raise RuntimeError(f"SSE {path} -> {resp.status}")
        return resp

    async def close(self) -> None:
        await self.http.close()


async def sse_fanout(client: Client, producer: EventProducer, session_id: uuid.UUID, listeners: int,
                     events: int) -> list[float]:
    """Latencies (ms) from producing an event to each of `listeners` SSE streams seeing it."""
    from ai.backend.common.events.session import SessionStartedEvent

    streams = [await client.sse("/events/session", {"sessionName": "*", "scope": "session"})
               for _ in range(listeners)]
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def read(resp: aiohttp.ClientResponse) -> None:
        got = 0
        while got < events:
            line = (await resp.content.readline()).decode()
            if line.startswith("data:"):
                reason = json.loads(line[5:])["reason"]
                latencies.append((time.perf_counter() - sent[reason]) * 1000)
                got += 1

    readers = [asyncio.create_task(read(r)) for r in streams]
    await asyncio.sleep(0.5)
    for i in range(events):
        sent[f"e{i}"] = time.perf_counter()
        await producer.produce_event(SessionStartedEvent(session_id, reason=f"e{i}"))
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*readers), 60)
    for r in streams:
        r.close()
    return latencies


async def create_session(client: Client, name: str) -> float:
    t0 = time.perf_counter()
    body = await client.json("POST", "/session", {
        "name": name, "image": IMAGE, "group": "default", "domain": "default", "type": "interactive",
        "config": {"resources": {"cpu": 1, "mem": "256m"}}, "enqueueOnly": False, "maxWaitSeconds": 120,
    })
    if body["status"] != "RUNNING":
        raise RuntimeError(f"session {name} is {body['status']}")
    return (time.perf_counter() - t0) * 1000


async def rest_query(client: Client, session: str, code: str) -> float:
    t0 = time.perf_counter()
    run_id, mode = None, "query"
    while True:
        result = (await client.json("POST", f"/session/{session}", {"mode": mode, "code": code, "runId": run_id}))["result"]
        if result["status"] == "finished":
            return (time.perf_counter() - t0) * 1000
        run_id, mode, code = result["runId"], "continue", ""


async def measure(client: Client, args: argparse.Namespace, agent: DockerAgent, producer: EventProducer) -> None:
    running, first_output, destroy = [], [], []
    for r in range(args.rounds):
        name = f"bench-run-{r}"
        running.append(await create_session(client, name))
        t0 = time.perf_counter()
        await client.json("DELETE", f"/session/{name}")
        destroy.append((time.perf_counter() - t0) * 1000)
    for r in range(args.rounds):
        name = f"bench-out-{r}"
        t0 = time.perf_counter()
        await create_session(client, name)
        _, out = await client.ws_first_output(name, 'print("hello world")')
        assert out == "hello world\n", out
        first_output.append((time.perf_counter() - t0) * 1000)
        await client.json("DELETE", f"/session/{name}")
    print(f"create-to-RUNNING          {summary(running)}")
    print(f"create-to-first-output     {summary(first_output)}")
    print(f"DELETE /session            {summary(destroy)}")

    await create_session(client, "bench-warm")
    await rest_query(client, "bench-warm", "x = 0")
    rest = [await rest_query(client, "bench-warm", "x += 1; print(x)") for _ in range(args.calls)]
    ws = [(await client.ws_first_output("bench-warm", "x += 1; print(x)"))[0] for _ in range(args.calls)]
    print(f"REST execute round trip    {summary(rest)}")
    print(f"websocket first output     {summary(ws)}")
    blob = os.urandom(2**20 - 1024)
    ups, downs = [], []
    for _ in range(max(3, args.calls // 3)):
        t0 = time.perf_counter()
        await client.upload("bench-warm", "blob.bin", blob)
        ups.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        tar = await client.download("bench-warm", "blob.bin")
        downs.append((time.perf_counter() - t0) * 1000)
        assert len(tar) > len(blob)
    print(f"upload 1 MiB               {summary(ups)}")
    print(f"download 1 MiB (tar)       {summary(downs)}")
    info = await client.json("GET", "/session/bench-warm")
    sid = uuid.UUID(str(info.get("sessionId") or info.get("id") or info.get("session_id")))
    # broadcast only (its anycast copy goes to an unused stream, so no scheduler handler acts on it)
    bc = EventProducer(producer.redis, stream_key=producer.stream_key + ".unused",
                       broadcast_channel=producer.broadcast_channel)
    fan = await sse_fanout(client, bc, sid, args.listeners, 20)
    await producer.redis.delete(producer.stream_key + ".unused")
    print(f"SSE fan-out x{args.listeners:<4}         {summary(fan)}   p99 {pct(fan, 0.99):.1f} ms")
    await client.json("DELETE", "/session/bench-warm")


async def wait_agent(db: Any, agent_id: str) -> None:
    for _ in range(300):
        async with db.connect() as conn:
            status = (await conn.execute(sa.select(agents.c.status).where(agents.c.id == agent_id))).scalar()
        if status == AgentStatus.ALIVE:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"agent {agent_id} did not register")


async def main(args: argparse.Namespace) -> None:
    tag = uuid.uuid4().hex[:8]
    pg = urlsplit(args.pg)
    admin_url = urlunsplit(pg._replace(path="/postgres"))
    dbname = f"bench_ops_{tag}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{dbname}"')
    await conn.close()
    engine = create_engine(urlunsplit(pg._replace(scheme="postgresql+asyncpg", path=f"/{dbname}")))
    etcd = AsyncEtcd(HostPortPair.parse(args.etcd), f"bench-{tag}")
    scratch = tempfile.TemporaryDirectory(prefix="bench-ops-")
    stop = asyncio.Event()
    server_task: asyncio.Task[None] | None = None
    agent_server: AgentServer | None = None
    redis = connect(HostPortPair.parse(args.redis), db=REDIS_STREAM_DB)
    try:
        await migration.upgrade(engine)
        for name in ("example-keypairs.json", "example-resource-presets.json"):
            await fixtures.populate(engine, json.loads((ROOT / "fixtures" / name).read_text()))
        async with engine.begin() as c:
            await image_service.upsert(c, await image_scan.scan_local_docker())
        await etcd.put("config/redis/addr", args.redis)
        stream_key, channel = f"bench-events-{tag}", f"bench-events-{tag}.bc"
        local_config = manager_config.from_dict({
            "etcd": {"namespace": f"bench-{tag}", "addr": args.etcd},
            "db": {"addr": f"{pg.hostname}:{pg.port}", "name": dbname, "user": pg.username, "password": pg.password or ""},
            "manager": {"service-addr": "127.0.0.1:8081", "num-proc": 1, "id": f"i-bench-{tag}",
                        "pid-file": os.path.join(scratch.name, "manager.pid"),
                        "event-stream-key": stream_key, "event-broadcast-channel": channel},
            "scheduler": {"tick-interval": args.tick},
            "logging": {"level": "WARNING", "drivers": ["console"]},
        })
        local_config["manager"]["service-addr"] = HostPortPair("127.0.0.1", 0)
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        server_task = asyncio.create_task(serve(local_config, stop=stop, ready=ready.set_result))
        port = await asyncio.wait_for(ready, 60)
        agent_cfg = agent_config_from_dict({
            "etcd": {"namespace": f"bench-{tag}", "addr": args.etcd},
            "agent": {"id": f"bench-{tag}", "rpc-listen-addr": "127.0.0.1:0", "heartbeat-interval": 2.0,
                      "event-stream-key": stream_key, "event-broadcast-channel": channel},
            "container": {"port-range": "auto", "bind-host": "127.0.0.1", "scratch-root": scratch.name + "/scratch"},
            "logging": {"level": "WARNING"},
        })
        producer = EventProducer(redis, stream_key=stream_key, broadcast_channel=channel)
        agent = DockerAgent(agent_cfg, event_producer=producer)
        agent_server = AgentServer(agent)
        await agent_server.start()
        await wait_agent(engine, agent.id)
        client = Client(f"http://127.0.0.1:{port}", USER)
        print(f"stack: manager on :{port} (scheduler tick {args.tick} s), Docker agent {agent.id}, image {IMAGE}")
        try:
            await measure(client, args, agent, producer)
        finally:
            await client.close()
    finally:
        if agent_server is not None:
            for kid in list(agent_server.agent.kernel_registry):
                await agent_server.agent.destroy_kernel(kid, reason="bench-cleanup")
            await agent_server.stop()
        stop.set()
        if server_task is not None:
            await asyncio.wait_for(server_task, 60)
        await redis.delete(f"bench-events-{tag}")
        await redis.aclose()
        await etcd.delete_prefix("")
        await etcd.close()
        await engine.dispose()
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await conn.close()
        scratch.cleanup()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5, help="sessions created per create measurement")
    p.add_argument("--calls", type=int, default=30, help="execute calls per round-trip measurement")
    p.add_argument("--listeners", type=int, default=50, help="SSE streams for the fan-out measurement")
    p.add_argument("--tick", type=float, default=2.0, help="the scheduler's periodic tick (manager default 2 s)")
    p.add_argument("--pg", default=os.environ.get("BACKEND_TEST_PG_ADDR") or "postgresql://postgres:develove@127.0.0.1:8100/backend")
    p.add_argument("--redis", default=os.environ.get("BACKEND_TEST_REDIS_ADDR") or "127.0.0.1:8110")
    p.add_argument("--etcd", default=os.environ.get("BACKEND_TEST_ETCD_ADDR") or "127.0.0.1:8120")
    asyncio.run(main(p.parse_args()))
