"""What the client SDK costs per request, against a running stack (scripts/dev-up.sh).

Times the same signed request (`GET /manager/status`) made N times sequentially by a bare
aiohttp client that signs with ai.backend.common.signing, by our AsyncSession, and by our
synchronous Session (worker thread); then C concurrent requests through one AsyncSession.
Prints per-request medians and the SDK/bare ratios measured in the same run.

    ./py scripts/bench-client-sdk.py [--requests 300] [--concurrency 16] [--rounds 5]

Endpoint and keypair from BACKEND_ENDPOINT / BACKEND_ACCESS_KEY / BACKEND_SECRET_KEY, defaulting
to the dev stack and the example superadmin keypair.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from ai.backend.client.config import APIConfig
from ai.backend.client.session import AsyncSession, Session
from ai.backend.common import signing

PATH = "/manager/status"
VERSION = "v7.20230615"


async def bare(endpoint: str, ak: str, sk: str, n: int) -> float:
    host = urlsplit(endpoint).netloc
    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        for _ in range(n):
            hdrs = {"X-BackendAI-Version": VERSION, "Content-Type": "application/json",
                    **signing.sign_headers(access_key=ak, secret_key=sk, method="GET", path_with_query=PATH,
                                           host=host, content_type="application/json", api_version=VERSION,
                                           now=datetime.now(UTC))}
            async with http.get(endpoint + PATH, headers=hdrs) as r:
                assert r.status == 200, await r.text()
                await r.read()
        return (time.perf_counter() - start) / n


async def sdk_async(cfg: APIConfig, n: int) -> float:
    async with AsyncSession(config=cfg) as s:
        start = time.perf_counter()
        for _ in range(n):
            await s.Manager.status()
        return (time.perf_counter() - start) / n


def sdk_sync(cfg: APIConfig, n: int) -> float:
    with Session(config=cfg) as s:
        start = time.perf_counter()
        for _ in range(n):
            s.Manager.status()
        return (time.perf_counter() - start) / n


async def sdk_concurrent(cfg: APIConfig, n: int, c: int) -> float:
    async with AsyncSession(config=cfg) as s:
        sem = asyncio.Semaphore(c)

        async def one() -> None:
            async with sem:
                await s.Manager.status()

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    endpoint = os.environ.get("BACKEND_ENDPOINT", "http://127.0.0.1:8081").split(",")[0].rstrip("/")
    ak = os.environ.get("BACKEND_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE")
    sk = os.environ.get("BACKEND_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    cfg = APIConfig(endpoint=endpoint, access_key=ak, secret_key=sk)
    rows: dict[str, list[float]] = {"bare aiohttp": [], "AsyncSession": [], "Session (sync)": [], "concurrent": []}
    for r in range(args.rounds):
        rows["bare aiohttp"].append(asyncio.run(bare(endpoint, ak, sk, args.requests)))
        rows["AsyncSession"].append(asyncio.run(sdk_async(cfg, args.requests)))
        rows["Session (sync)"].append(sdk_sync(cfg, args.requests))
        rows["concurrent"].append(asyncio.run(sdk_concurrent(cfg, args.requests, args.concurrency)))
        print(f"round {r + 1}: " + ", ".join(
            f"{k} {v[-1] * 1000:.2f} ms" if k != "concurrent" else f"{k} {v[-1]:.0f} req/s" for k, v in rows.items()))
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\n{endpoint}{PATH}, {args.requests} requests x {args.rounds} rounds (medians)")
    for k in ("bare aiohttp", "AsyncSession", "Session (sync)"):
        print(f"  {k:16s} {med[k] * 1000:7.2f} ms/request   ratio to bare {med[k] / med['bare aiohttp']:.2f}")
    print(f"  AsyncSession x{args.concurrency} concurrent: {med['concurrent']:.0f} requests/s")


if __name__ == "__main__":
    main()
