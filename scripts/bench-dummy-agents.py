"""Benchmark: N simulated agents in one process, driven over real RPC, etcd and Redis.

    ./py scripts/bench-dummy-agents.py [--count 100] [--kernels-per-agent 3] [--rounds 3]

Prints the fleet start time, RPC ping latency, and create/destroy round-trip latencies and
throughput across the fleet (zero simulated delays, so the figures are the agent's own cost).
Uses a throwaway etcd namespace and its own event stream; the halfstack must be running.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.dummy.fleet import DummyFleet
from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.rpc import RPCClient
from ai.backend.common.types import HostPortPair


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def kernel(session_id: str) -> dict:
    return {
        "kernel_id": str(uuid.uuid4()), "session_id": session_id, "session_type": "interactive",
        "image": {"canonical": "cr.backend.ai/stable/python:3.11-debian12", "architecture": "x86_64"},
        "cluster_role": "main", "cluster_idx": 1, "local_rank": 0, "cluster_hostname": "main1",
        "resource_slots": {"cpu": "1", "mem": str(2**30)}, "environ": {}, "mounts": [],
    }


async def timed(coro) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    await coro
    return (time.perf_counter() - t) * 1000


async def main(args: argparse.Namespace) -> None:
    tag = uuid.uuid4().hex[:8]
    etcd = AsyncEtcd(HostPortPair.parse(args.etcd), f"bench-{tag}")
    await etcd.put("config/redis/addr", args.redis)
    cfg = agent_config_from_dict({
        "etcd": {"namespace": f"bench-{tag}", "addr": args.etcd},
        "agent": {"mode": "dummy", "rpc-listen-addr": "127.0.0.1:0", "heartbeat-interval": 3.0,
                  "event-stream-key": f"bench-events-{tag}", "event-broadcast-channel": f"bench-events-{tag}.bc"},
        "dummy": {"delays": {k: 0 for k in ("prepare", "pull-image", "create-kernel", "destroy-kernel")},
                  "resources": {"cpu": 64, "mem": "256g"}},
        "logging": {"level": "WARNING"},
    })
    fleet = DummyFleet(cfg, count=args.count, id_prefix=f"bench-{tag}-")
    t0 = time.perf_counter()
    await fleet.start()
    start_s = time.perf_counter() - t0
    clients = [RPCClient(a, default_timeout=60) for a in fleet.addresses.values()]
    try:
        print(f"agents: {args.count} in one process, started in {start_s:.2f} s")
        pings = [await timed(c.call("ping", "x")) for c in clients for _ in range(3)]
        print(f"RPC ping (sequential, {len(pings)} calls): median {statistics.median(pings):.2f} ms, "
              f"p95 {pct(pings, 0.95):.2f} ms")
        for r in range(1, args.rounds + 1):
            made: list[tuple[RPCClient, dict]] = []

            async def create(c: RPCClient) -> float:
                k = kernel(str(uuid.uuid4()))
                made.append((c, k))
                return await timed(c.call("create_kernels", k["session_id"], [k]))

            t = time.perf_counter()
            creates = await asyncio.gather(*(create(c) for c in clients for _ in range(args.kernels_per_agent)))
            create_wall = time.perf_counter() - t
            t = time.perf_counter()
            destroys = await asyncio.gather(*(timed(c.call("destroy_kernel", k["kernel_id"], k["session_id"]))
                                              for c, k in made))
            destroy_wall = time.perf_counter() - t
            n = len(made)
            print(f"round {r}: {n} concurrent create_kernels: median {statistics.median(creates):.1f} ms, "
                  f"p95 {pct(creates, 0.95):.1f} ms, {n / create_wall:.0f}/s; "
                  f"destroy_kernel: median {statistics.median(destroys):.1f} ms, {n / destroy_wall:.0f}/s")
        assert fleet.services is not None and fleet.services.redis_events is not None
        events = await fleet.services.redis_events.xlen(f"bench-events-{tag}")
        print(f"events produced: {events}")
    finally:
        for c in clients:
            await c.close()
        if fleet.services is not None and fleet.services.redis_events is not None:
            await fleet.services.redis_events.delete(f"bench-events-{tag}")
        await fleet.stop()
        await etcd.delete_prefix("")
        await etcd.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--kernels-per-agent", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--etcd", default="127.0.0.1:8120")
    p.add_argument("--redis", default="127.0.0.1:8110")
    asyncio.run(main(p.parse_args()))
