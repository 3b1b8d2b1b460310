"""The agent's side of the ZeroMQ link to a kernel runner, and the execute loop of the REST API.

`execute()` implements the Code Execution Model: the first call of a run (query or batch)
sends it to the runner; every call returns the console items produced since the previous
call together with a status -- "finished", "waiting-input", "clean-finished",
"build-finished", or "continued" when `flush_timeout` passed first. "continue" and "input"
calls pick the same run up again. Results have the Execution Result Object's keys, so the
manager only relays them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import zmq
import zmq.asyncio

log = logging.getLogger(__name__)

CONSOLE_LIMIT = 524_288          # characters per stream per execute call (manual)
RUN_RETENTION = 600.0            # forget a run nobody continued for this long
MARKERS = frozenset({"waiting-input", "clean-finished", "build-finished", "finished"})
RUN_KINDS = MARKERS | {"stdout", "stderr", "media", "html", "log"}


class RunnerError(Exception):
    pass


class RunnerTimeout(RunnerError, TimeoutError):
    pass


class UnknownRun(RunnerError, LookupError):
    pass


@dataclass
class RunState:
    run_id: str
    entries: list[tuple[str, Any]] = field(default_factory=list)   # console items and markers
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    touched: float = field(default_factory=time.monotonic)
    finished: bool = False


def _merge_console(items: list[tuple[str, Any]]) -> list[list[Any]]:
    """Contiguous stdout (or stderr) pieces become one item; each stream capped per call."""
    console: list[list[Any]] = []
    sizes = {"stdout": 0, "stderr": 0}
    for kind, data in items:
        if kind in sizes:
            room = CONSOLE_LIMIT - sizes[kind]
            if room <= 0:
                continue
            data = data[:room]
            sizes[kind] += len(data)
            if console and console[-1][0] == kind:
                console[-1][1] += data
                continue
        console.append([kind, data])
    return console


class KernelRunnerChannel:
    def __init__(self, host: str, in_port: int, out_port: int, *, zctx: zmq.asyncio.Context | None = None) -> None:
        self.host = host
        self.in_port = in_port
        self.out_port = out_port
        self._zctx = zctx or zmq.asyncio.Context.instance()
        self._push: zmq.asyncio.Socket | None = None
        self._pull: zmq.asyncio.Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._req_ids = itertools.count(1)
        self._requests: dict[int, asyncio.Future[tuple[str, dict[str, Any], bytes]]] = {}
        self.runs: dict[str, RunState] = {}
        self._run_lock = asyncio.Lock()

    # --- connection ----------------------------------------------------------------------

    async def connect(self) -> None:
        if self._push is not None:
            return
        push = self._zctx.socket(zmq.PUSH)
        pull = self._zctx.socket(zmq.PULL)
        for sock in (push, pull):
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RECONNECT_IVL, 100)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        push.connect(f"tcp://{self.host}:{self.in_port}")
        pull.connect(f"tcp://{self.host}:{self.out_port}")
        self._push, self._pull = push, pull
        self._reader = asyncio.create_task(self._read_loop(), name=f"runner-{self.host}:{self.out_port}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(RunnerError("the kernel connection was closed"))
        self._requests.clear()
        for sock in (self._push, self._pull):
            if sock is not None:
                sock.close(0)
        self._push = self._pull = None

    async def _send(self, op: str, body: Mapping[str, Any], payload: bytes | None = None) -> None:
        if self._push is None:
            raise RunnerError("not connected to the kernel runner")
        frames = [op.encode(), json.dumps(body).encode()]
        if payload is not None:
            frames.append(payload)
        async with self._send_lock:
            await self._push.send_multipart(frames)

    async def _read_loop(self) -> None:
        assert self._pull is not None
        while True:
            frames = await self._pull.recv_multipart()
            if len(frames) < 2:
                continue  # a reply of the one-shot query exchange; not ours
            kind = frames[0].decode("utf-8", "replace")
            try:
                body = json.loads(frames[1])
            except ValueError:
                log.warning("undecodable message %r from the kernel runner", kind)
                continue
            payload = frames[2] if len(frames) > 2 else b""
            if kind in RUN_KINDS:
                self._on_run_message(kind, body)
            else:
                fut = self._requests.pop(body.get("req_id"), None)
                if fut is not None and not fut.done():
                    fut.set_result((kind, body, payload))

    def _on_run_message(self, kind: str, body: dict[str, Any]) -> None:
        st = self.runs.get(str(body.get("run_id")))
        if st is None:
            return  # a run this agent does not follow (e.g. the bootstrap script)
        if kind in ("stdout", "stderr", "media", "html", "log"):
            st.entries.append((kind, body.get("data")))
        else:
            st.entries.append((kind, body))
        st.changed.set()

    async def request(
        self, op: str, body: Mapping[str, Any] | None = None, payload: bytes | None = None, *, timeout: float = 30.0
    ) -> tuple[dict[str, Any], bytes]:
        req_id = next(self._req_ids)
        fut: asyncio.Future[tuple[str, dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self._requests[req_id] = fut
        try:
            await self._send(op, {**(body or {}), "req_id": req_id}, payload)
            kind, reply, data = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise RunnerTimeout(f"the kernel runner did not answer {op} in {timeout}s") from None
        finally:
            self._requests.pop(req_id, None)
        if kind == "error":
            raise RunnerError(reply.get("error") or f"{op} failed")
        return reply, data

    async def wait_ready(self, timeout: float, *, alive: Any = None) -> None:
        """Ping until the runner answers; `alive()` (async) may report that the kernel died."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                await self.request("ping", timeout=0.5)
                return
            except RunnerTimeout:
                pass
            if alive is not None and not await alive():
                raise RunnerError("the kernel exited before its runner became ready")
            if asyncio.get_running_loop().time() > deadline:
                raise RunnerTimeout(f"the kernel runner did not become ready in {timeout}s")

    # --- the execute loop ----------------------------------------------------------------

    async def execute(
        self,
        run_id: str | None,
        mode: str,
        code: str,
        opts: Mapping[str, Any] | None = None,
        *,
        flush_timeout: float = 2.0,
    ) -> dict[str, Any]:
        opts = opts or {}
        async with self._run_lock:
            self._forget_stale_runs()
            if mode in ("query", "batch"):
                run_id = run_id or uuid.uuid4().hex
                st = self.runs.get(run_id)
                if st is None:  # a repeated first call just picks the run up
                    st = self.runs[run_id] = RunState(run_id)
                    if mode == "query":
                        await self._send("code", {"run_id": run_id, "code": code})
                    else:
                        await self._send("batch", {
                            "run_id": run_id, "clean": opts.get("clean"),
                            "build": opts.get("build"), "exec": opts.get("exec"),
                        })
            elif mode in ("continue", "input"):
                st = self.runs.get(str(run_id))
                if st is None:
                    raise UnknownRun(f"no run {run_id!r} in progress on this kernel")
                if mode == "input":
                    await self._send("input", {"run_id": run_id, "text": code})
            else:
                raise ValueError(f"invalid execution mode {mode!r} (query, batch, continue or input)")
        return await self._collect(st, flush_timeout)

    async def _collect(self, st: RunState, flush_timeout: float) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + flush_timeout
        while not any(kind in MARKERS for kind, _ in st.entries):
            st.changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(st.changed.wait(), left)
            except TimeoutError:
                break
        st.touched = time.monotonic()
        taken: list[tuple[str, Any]] = []
        marker: tuple[str, Any] | None = None
        while st.entries:
            kind, data = st.entries.pop(0)
            if kind in MARKERS:
                marker = (kind, data)
                break
            taken.append((kind, data))
        result: dict[str, Any] = {
            "runId": st.run_id, "status": "continued", "console": _merge_console(taken),
            "exitCode": None, "options": None, "files": [],
        }
        if marker is not None:
            kind, body = marker
            result["status"] = kind
            if kind == "waiting-input":
                result["options"] = {"is_password": bool(body.get("is_password"))}
            else:
                result["exitCode"] = body.get("exitCode")
                if kind == "finished":
                    result["options"] = body.get("options")
                    st.finished = True
                    self.runs.pop(st.run_id, None)
        return result

    def _forget_stale_runs(self) -> None:
        now = time.monotonic()
        for rid in [r for r, st in self.runs.items() if now - st.touched > RUN_RETENTION]:
            del self.runs[rid]

    # --- other operations ----------------------------------------------------------------

    async def interrupt(self) -> None:
        await self._send("interrupt", {})

    async def complete(self, code: str, opts: Mapping[str, Any] | None = None, timeout: float = 10.0) -> list[str]:
        reply, _ = await self.request("complete", {"code": code, "options": dict(opts or {})}, timeout=timeout)
        return list(reply.get("candidates") or [])

    async def start_service(self, name: str, ports: list[int], options: Mapping[str, Any] | None = None,
                            timeout: float = 60.0) -> dict[str, Any]:
        reply, _ = await self.request("start-service", {"name": name, "ports": ports, "options": dict(options or {})},
                                      timeout=timeout)
        reply.pop("req_id", None)
        return reply

    async def shutdown_service(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        reply, _ = await self.request("shutdown-service", {"name": name}, timeout=timeout)
        reply.pop("req_id", None)
        return reply

    async def list_files(self, path: str, timeout: float = 30.0) -> dict[str, Any]:
        reply, _ = await self.request("list-files", {"path": path}, timeout=timeout)
        reply.pop("req_id", None)
        return reply

    async def upload_file(self, path: str, data: bytes, timeout: float = 120.0) -> str:
        reply, _ = await self.request("upload-file", {"path": path}, data, timeout=timeout)
        return str(reply.get("path"))

    async def download_file(self, path: str, timeout: float = 120.0) -> bytes:
        _, data = await self.request("download-file", {"path": path}, timeout=timeout)
        return data
