"""Benchmark: the scheduler loop and session start path, end to end.

    ./py scripts/bench-scheduler.py [--sessions 1000] [--agents 100] [--create-delay 0.1]
    ./py scripts/bench-scheduler.py --docker [--rounds 3]

Default mode: a real manager and M simulated agents (each in its own process; real RPC and
event bus) on the halfstack; N PENDING sessions are enqueued at once (rows exactly as the
create API writes them, then session_enqueued) and the script waits until all are RUNNING.
Prints sessions/s to RUNNING and the p50/p99 scheduling latency (enqueue -> RUNNING, from
each session's status history).

--docker: one real Docker session per round through the REST API (POST /session, blocking
until RUNNING) on the locally built kernel image, then a query-mode execute: prints the
median create-to-RUNNING and create-to-first-output.

Everything runs in a throwaway database, etcd namespace and event stream.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "cr.backend.ai/stable/python:3.11-debian12"
GROUP = uuid.UUID("2de2b969-1d04-48a6-af16-0bc8adb3c831")
USER = uuid.UUID("4f13d193-f646-425a-a340-270c4d2b9860")
USER_KEYPAIR = ("AKIANABBDUSEREXAMPLE", "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the simulated fleet (child process) ---------------------------------------------------

def _fleet_main(cfg_raw: dict[str, Any], count: int, prefix: str, ready: Any, stop: Any) -> None:
    from ai.backend.agent.config import agent_config_from_dict
    from ai.backend.agent.dummy.fleet import DummyFleet

    async def run() -> None:
        fleet = DummyFleet(agent_config_from_dict(cfg_raw), count=count, id_prefix=prefix)
        await fleet.start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await fleet.stop()

    asyncio.run(run())


def _manager_main(local_config: dict[str, Any], port: Any, stop: Any) -> None:
    """The manager in its own process, so the benchmark's own work does not slow it down."""
    from ai.backend.common.logging import setup_logging
    from ai.backend.manager.server import serve

    setup_logging(local_config["logging"], debug=False, service="manager")

    async def run() -> None:
        ev = asyncio.Event()

        def ready(p: int) -> None:
            port.value = p

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.2)
            ev.set()

        watcher = asyncio.create_task(watch())
        await serve(local_config, stop=ev, ready=ready)
        await watcher

    asyncio.run(run())


# --- stack setup ---------------------------------------------------------------------------

class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = uuid.uuid4().hex[:8]
        self.dbname = f"bench_sched_{self.tag}"
        self.namespace = f"bench-sched-{self.tag}"
        self.stream = f"bench-sched-events-{self.tag}"

    async def __aenter__(self) -> Stack:
        from ai.backend.common.etcd import AsyncEtcd
        from ai.backend.common.types import HostPortPair
        from ai.backend.manager import config as manager_config
        from ai.backend.manager.models import keypair_resource_policies, migration
        from ai.backend.manager.models.dbutils import create_engine
        from ai.backend.manager.services import fixtures

        a = self.args
        conn = await asyncpg.connect(f"postgresql://{a.pg_user}:{a.pg_password}@{a.pg}/postgres")
        await conn.execute(f'CREATE DATABASE "{self.dbname}"')
        await conn.close()
        self.db = create_engine(f"postgresql+asyncpg://{a.pg_user}:{a.pg_password}@{a.pg}/{self.dbname}",
                                pool_size=4, max_overflow=4)
        await migration.upgrade(self.db)
        for name in ("example-keypairs.json", "example-resource-presets.json"):
            await fixtures.populate(self.db, json.loads((ROOT / "fixtures" / name).read_text()))
        async with self.db.begin() as c:
            await c.execute(sa.update(keypair_resource_policies).values(max_concurrent_sessions=0))
        self.etcd = AsyncEtcd(HostPortPair.parse(a.etcd), self.namespace)
        await self.etcd.put("config/redis/addr", a.redis)
        host, port = a.pg.split(":")
        self.tmp = tempfile.TemporaryDirectory()
        self.local_config = manager_config.from_dict({
            "etcd": {"namespace": self.namespace, "addr": a.etcd},
            "db": {"addr": a.pg, "name": self.dbname, "user": a.pg_user, "password": a.pg_password},
            "manager": {"service-addr": "127.0.0.1:8081", "num-proc": 1, "id": f"i-bench-{self.tag}",
                        "pid-file": str(Path(self.tmp.name) / "manager.pid"),
                        "event-stream-key": self.stream, "event-broadcast-channel": f"{self.stream}.bc"},
            "logging": {"level": "WARNING", "drivers": ["console"], "pkg-ns": {"": "WARNING", "ai.backend": "WARNING"}},
            "scheduler": {"tick-interval": a.tick},
        })
        self.local_config["manager"]["service-addr"] = HostPortPair("127.0.0.1", 0)
        return self

    def agent_config(self, **extra: Any) -> dict[str, Any]:
        return {
            "etcd": {"namespace": self.namespace, "addr": self.args.etcd},
            "agent": {"rpc-listen-addr": "127.0.0.1:0", "heartbeat-interval": 3.0,
                      "event-stream-key": self.stream, "event-broadcast-channel": f"{self.stream}.bc"},
            "container": {"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 30},
            "logging": {"level": "WARNING"},
            **extra,
        }

    async def start_manager(self) -> None:
        mp = multiprocessing.get_context("spawn")
        self.manager_port = mp.Value("i", 0)
        self.manager_stop = mp.Event()
        self.manager_proc = mp.Process(target=_manager_main,
                                       args=(self.local_config, self.manager_port, self.manager_stop))
        self.manager_proc.start()
        t0 = time.monotonic()
        while self.manager_port.value == 0:
            if not self.manager_proc.is_alive() or time.monotonic() - t0 > 120:
                raise RuntimeError("the manager did not start")
            await asyncio.sleep(0.1)
        self.port = self.manager_port.value

    async def __aexit__(self, *exc: object) -> None:
        from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
        from ai.backend.common.types import HostPortPair

        if getattr(self, "manager_proc", None) is not None:
            self.manager_stop.set()
            await asyncio.to_thread(self.manager_proc.join, 60)
        await self.db.dispose()
        a = self.args
        conn = await asyncpg.connect(f"postgresql://{a.pg_user}:{a.pg_password}@{a.pg}/postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        await conn.close()
        await self.etcd.delete_prefix("")
        await self.etcd.close()
        r = connect(HostPortPair.parse(a.redis), db=REDIS_STREAM_DB)
        await r.delete(self.stream, f"{self.stream}.dead")
        await r.aclose()
        self.tmp.cleanup()


# --- simulated mode ------------------------------------------------------------------------

async def enqueue(stack: Stack, n: int) -> list[uuid.UUID]:
    """N PENDING sessions (1 CPU, 1 GiB each), committed in batches, each announced."""
    from ai.backend.common.events import EventProducer
    from ai.backend.common.events.session import SessionEnqueuedEvent
    from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
    from ai.backend.common.status import SessionStatus
    from ai.backend.common.types import HostPortPair, ResourceSlot
    from ai.backend.manager.models import kernels, sessions

    slots = ResourceSlot.from_user_input({"cpu": "1", "mem": "1g"})
    owner = {"domain_name": "default", "group_id": GROUP, "user_uuid": USER, "access_key": USER_KEYPAIR[0]}
    r = connect(HostPortPair.parse(stack.args.redis), db=REDIS_STREAM_DB)
    producer = EventProducer(r, stream_key=stack.stream, broadcast_channel=f"{stack.stream}.bc")
    ids: list[uuid.UUID] = []
    for start in range(0, n, 100):
        batch_s, batch_k = [], []
        for _ in range(start, min(n, start + 100)):
            sid = uuid.uuid4()
            ts = datetime.now(UTC)
            hist = [{"status": "PENDING", "timestamp": ts.isoformat()}]
            common = {"status": SessionStatus.PENDING, "status_changed": ts, "status_history": hist,
                      "created_at": ts, **owner}
            batch_s.append({"id": sid, "name": f"b-{sid.hex[:10]}", "images": [IMAGE], "scaling_group_name": "default",
                            "requested_slots": slots, "environ": {}, "vfolder_mounts": [], **common})
            batch_k.append({"id": sid, "session_id": sid, "session_name": f"b-{sid.hex[:10]}", "scaling_group": "default",
                            "image": IMAGE, "architecture": "x86_64", "registry": "cr.backend.ai",
                            "requested_slots": slots, "environ": [], "vfolder_mounts": [], **common})
            ids.append(sid)
        async with stack.db.begin() as c:
            await c.execute(sa.insert(sessions), batch_s)
            await c.execute(sa.insert(kernels), batch_k)
        for sid in ids[start:]:
            await producer.produce_event(SessionEnqueuedEvent(session_id=sid))
    await r.aclose()
    return ids


async def bench_dummy(args: argparse.Namespace) -> None:
    from ai.backend.common.status import AgentStatus, SessionStatus
    from ai.backend.manager.models import agents, sessions

    async with Stack(args) as stack:
        mp = multiprocessing.get_context("spawn")
        ready, stop = mp.Event(), mp.Event()
        cfg = stack.agent_config(dummy={
            "delays": {"prepare": 0, "pull-image": 0, "create-kernel": args.create_delay, "destroy-kernel": 0},
            "resources": {"cpu": 64, "mem": "256g"}})
        child = mp.Process(target=_fleet_main, args=(cfg, args.agents, f"bs-{stack.tag}-", ready, stop))
        child.start()
        try:
            if not await asyncio.to_thread(ready.wait, 300):
                raise RuntimeError("the simulated fleet did not start")
            await stack.start_manager()
            t0 = time.monotonic()
            while True:
                async with stack.db.connect() as c:
                    alive = (await c.execute(sa.select(sa.func.count()).select_from(agents)
                                             .where(agents.c.status == AgentStatus.ALIVE))).scalar_one()
                if alive >= args.agents:
                    break
                if time.monotonic() - t0 > 120:
                    raise RuntimeError(f"only {alive} of {args.agents} agents registered")
                await asyncio.sleep(0.2)
            print(f"{args.agents} simulated agents registered; enqueueing {args.sessions} sessions "
                  f"(create delay {args.create_delay}s)", flush=True)
            ids = await enqueue(stack, args.sessions)
            deadline = time.monotonic() + args.timeout
            while True:
                async with stack.db.connect() as c:
                    counts: dict[Any, int] = dict((await c.execute(
                        sa.select(sessions.c.status, sa.func.count()).where(sessions.c.id.in_(ids))
                        .group_by(sessions.c.status))).all())
                if counts.get(SessionStatus.RUNNING, 0) >= len(ids):
                    break
                if time.monotonic() > deadline:
                    print(f"timed out: {({k.value: v for k, v in counts.items()})}")
                    break
                await asyncio.sleep(0.5)
            async with stack.db.connect() as c:
                rows = (await c.execute(sa.select(sessions.c.created_at, sessions.c.status_history)
                                        .where(sessions.c.id.in_(ids) & (sessions.c.status == SessionStatus.RUNNING)))).all()
        finally:
            stop.set()
            await asyncio.to_thread(child.join, 60)
    lat, first, last = [], None, None
    steps: dict[str, list[float]] = {}
    for row in rows:
        hist = [(h["status"], datetime.fromisoformat(h["timestamp"])) for h in row.status_history]
        for (a, ta), (b, tb) in itertools.pairwise(hist):
            steps.setdefault(f"{a}->{b}", []).append((tb - ta).total_seconds())
        running = next(ts for st, ts in hist if st == "RUNNING")
        lat.append((running - row.created_at).total_seconds())
        first = row.created_at if first is None or row.created_at < first else first
        last = running if last is None or running > last else last
    if not lat or first is None or last is None:
        print("no session reached RUNNING")
        return
    span = (last - first).total_seconds()
    print(f"N={len(ids)} M={args.agents}: {len(lat)} RUNNING in {span:.1f}s -> {len(lat) / span:.1f} sessions/s; "
          f"latency enqueue->RUNNING p50 {pct(lat, 0.5):.2f}s p99 {pct(lat, 0.99):.2f}s")
    print("median per step: " + ", ".join(f"{k} {statistics.median(v):.2f}s" for k, v in steps.items()
                                          if len(v) >= len(lat) // 2))


# --- real Docker mode ----------------------------------------------------------------------

async def bench_docker(args: argparse.Namespace) -> None:
    import aiohttp

    from ai.backend.agent.config import agent_config_from_dict
    from ai.backend.agent.server import AgentServer, SharedServices, build_agent
    from ai.backend.common import signing
    from ai.backend.manager.services import images as image_service

    async with Stack(args) as stack:
        labels = {"ai.backend.kernelspec": "1", "ai.backend.features": "query batch uid-match",
                  "ai.backend.resource.min.cpu": "1", "ai.backend.resource.min.mem": "256m",
                  "ai.backend.runtime-type": "python", "ai.backend.runtime-path": "/usr/bin/python3"}
        async with stack.db.begin() as c:
            await image_service.upsert(c, [image_service.ImageRecord.from_labels(
                image_service.parse_ref(IMAGE), architecture="x86_64", digest="sha256:" + "0" * 64, size=1,
                labels=labels)])
        cfg = agent_config_from_dict(stack.agent_config(agent={
            "mode": "docker", "id": f"bench-docker-{stack.tag}", "rpc-listen-addr": "127.0.0.1:0",
            "heartbeat-interval": 1.0, "event-stream-key": stack.stream,
            "event-broadcast-channel": f"{stack.stream}.bc"},
            container={"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 30,
                       "scratch-root": str(Path(stack.tmp.name) / "scratch")},
            resource={"reserved-cpu": 0, "reserved-mem": "256m"}))
        services = SharedServices(cfg)
        await services.connect()
        server = AgentServer(build_agent(cfg, services), services)
        await server.start()
        await stack.start_manager()
        base = f"http://127.0.0.1:{stack.port}"
        run_s, out_s = [], []
        try:
            await asyncio.sleep(2.0)    # the agent's first heartbeat registers it
            async with aiohttp.ClientSession() as http:
                async def call(method: str, path: str, body: Any) -> Any:
                    hdrs = {"Content-Type": "application/json", "X-BackendAI-Version": "v7.20230615"}
                    hdrs.update(signing.sign_headers(
                        access_key=USER_KEYPAIR[0], secret_key=USER_KEYPAIR[1], method=method,
                        path_with_query=path, host=f"127.0.0.1:{stack.port}", content_type="application/json",
                        api_version="v7.20230615", now=datetime.now(UTC)))
                    async with http.request(method, base + path, data=json.dumps(body), headers=hdrs) as resp:
                        return resp.status, await resp.json()

                for i in range(args.rounds):
                    name = f"bench-{i}"
                    t0 = time.perf_counter()
                    status, body = await call("POST", "/session", {
                        "name": name, "image": IMAGE, "type": "interactive", "enqueueOnly": False,
                        "maxWaitSeconds": 120, "domain": "default", "group": "default",
                        "config": {"resources": {"cpu": "1", "mem": "512m"}}})
                    t_run = time.perf_counter() - t0
                    if status not in (200, 201) or body.get("status") != "RUNNING":
                        print(f"round {i}: session did not start: {status} {body}")
                        continue
                    run_id, t_out = None, None
                    while t_out is None:
                        status, res = await call("POST", f"/session/{name}", {
                            "mode": "query" if run_id is None else "continue", "runId": run_id,
                            "code": "print('hello world')" if run_id is None else "", "options": {}})
                        result = res.get("result") or {}
                        run_id = result.get("runId")
                        if any(c[0] == "stdout" for c in result.get("console") or []):
                            t_out = time.perf_counter() - t0
                        elif result.get("status") == "finished" or status != 200:
                            print(f"round {i}: no output: {status} {res}")
                            break
                    run_s.append(t_run)
                    if t_out is not None:
                        out_s.append(t_out)
                    await call("DELETE", f"/session/{name}", {})
        finally:
            await server.stop()
            await services.close()
    if run_s:
        print(f"real Docker session ({len(run_s)} rounds): create->RUNNING median {statistics.median(run_s):.2f}s"
              + (f", create->first output median {statistics.median(out_s):.2f}s" if out_s else ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", "-n", type=int, default=1000)
    p.add_argument("--agents", "-m", type=int, default=100)
    p.add_argument("--create-delay", type=float, default=0.1, help="simulated kernel creation time (s)")
    p.add_argument("--tick", type=float, default=2.0, help="scheduler tick interval (s)")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--docker", action="store_true", help="measure real Docker sessions instead")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pg", default="127.0.0.1:8100")
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--pg-password", default="develove")
    p.add_argument("--redis", default="127.0.0.1:8110")
    p.add_argument("--etcd", default="127.0.0.1:8120")
    args = p.parse_args()
    asyncio.run(bench_docker(args) if args.docker else bench_dummy(args))


if __name__ == "__main__":
    main()
