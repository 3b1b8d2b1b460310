"""Time a single real Docker session on a running stack: create-to-RUNNING and create-to-first-output.

Runs against the stack scripts/dev-up.sh starts (or any endpoint), through the plain REST API
a client uses: POST /session (waiting until RUNNING), the REST execute loop until the first
stdout arrives, then DELETE and wait until the session is TERMINATED before the next run, so
runs never overlap. Prints each run and the median / min / max.

    ./py scripts/bench-docker-session.py [--runs 5] [--image python]

The endpoint and keypair come from BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY
(`source env-local-user-api.sh`), defaulting to the dev stack and the example user keypair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ai.backend.common import signing

API_VERSION = "v7.20230615"
DEFAULT_KEYPAIR = ("AKIANABBDUSEREXAMPLE", "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf")


class Client:
    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.keys = (access_key, secret_key)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json", "X-BackendAI-Version": API_VERSION,
                   **signing.sign_headers(access_key=self.keys[0], secret_key=self.keys[1], method=method,
                                          path_with_query=path, host=urlsplit(self.endpoint).netloc,
                                          content_type="application/json", api_version=API_VERSION,
                                          now=datetime.now(UTC))}
        async with self.http.request(method, self.endpoint + path, data=data, headers=headers) as resp:
            raw = await resp.read()
            return resp.status, json.loads(raw) if raw else None


async def one_run(client: Client, image: str) -> tuple[float, float]:
    name = f"bench-{secrets.token_hex(4)}"
    t0 = time.perf_counter()
    status, body = await client.call("POST", "/session", {
        "name": name, "image": image, "enqueueOnly": False, "maxWaitSeconds": 300, "reuseIfExists": False,
        "type": "interactive", "config": {}})
    if status not in (200, 201) or body.get("status") != "RUNNING":
        raise SystemExit(f"creating the session failed: {status} {body}")
    t_running = time.perf_counter() - t0
    sid = body["sessionId"]
    run_id, mode, code = None, "query", "print('first output')"
    t_output = None
    while t_output is None:
        status, body = await client.call("POST", f"/session/{name}", {"mode": mode, "code": code, "runId": run_id,
                                                                     "options": {}})
        if status != 200:
            raise SystemExit(f"execute failed: {status} {body}")
        result = body["result"]
        if any(kind == "stdout" and data for kind, data in result.get("console") or []):
            t_output = time.perf_counter() - t0
        elif result["status"] == "finished":
            raise SystemExit(f"the code finished without output: {result}")
        run_id, mode, code = result["runId"], "continue", ""
    await client.call("DELETE", f"/session/{name}")
    for _ in range(600):
        status, body = await client.call("GET", f"/session/{sid}")
        if status == 200 and body["status"] in ("TERMINATED", "CANCELLED", "ERROR"):
            break
        await asyncio.sleep(0.1)
    return t_running, t_output


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default="python")
    args = parser.parse_args()
    client = Client(os.environ.get("BACKEND_ENDPOINT", "http://127.0.0.1:8081/"),
                    os.environ.get("BACKEND_ACCESS_KEY", DEFAULT_KEYPAIR[0]),
                    os.environ.get("BACKEND_SECRET_KEY", DEFAULT_KEYPAIR[1]))
    try:
        runs = []
        for i in range(args.runs):
            running, output = await one_run(client, args.image)
            runs.append((running, output))
            print(f"run {i + 1}: create-to-RUNNING {running:.3f} s, create-to-first-output {output:.3f} s", flush=True)
    finally:
        await client.http.close()
    for label, values in (("create-to-RUNNING", [r for r, _ in runs]), ("create-to-first-output", [o for _, o in runs])):
        print(f"{label}: median {statistics.median(values):.3f} s, min {min(values):.3f} s, "
              f"max {max(values):.3f} s over {len(values)} runs")


if __name__ == "__main__":
    asyncio.run(main())
