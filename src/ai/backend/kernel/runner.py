"""The runner daemon: ZeroMQ in (2000) and out (2001), a FIFO of runs, and request handlers.

See the package docstring for the protocol. Runs (query snippets and batch sequences) are
executed one at a time; input, interrupt and the request/reply operations are handled
immediately, even while a run is busy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from . import OPS
from .batch import BatchRunner
from .bootstrap import drop_privileges, fork_reaper, prepare_container
from .emitter import Emitter
from .files import FileOpError, download_file, list_files, upload_file
from .query import QueryModeUnavailable, QueryRunner
from .run import RunContext
from .service import ServiceError, ServiceManager

log = logging.getLogger("ai.backend.kernel.runner")

_TOKEN = re.compile(r"[\w.]*$")


class Runner:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.opts = opts
        self.workdir = opts.workdir
        self.zctx = zmq.asyncio.Context()
        self.insock = self.zctx.socket(zmq.PULL)
        self.outsock = self.zctx.socket(zmq.PUSH)
        for sock in (self.insock, self.outsock):
            sock.setsockopt(zmq.LINGER, 500)
        self.emitter = Emitter(self.outsock)
        self.query = QueryRunner(opts.runtime_path, self.workdir)
        self.batch = BatchRunner(opts.runtime_path, self.workdir)
        self.services = ServiceManager(
            runtime_path=opts.runtime_path, workdir=self.workdir,
            service_def_dirs=[Path(p) for p in opts.service_defs], krunner_bin=Path(opts.krunner_bin),
        )
        self.runs: asyncio.Queue[tuple[RunContext, str, dict[str, Any]]] = asyncio.Queue()
        self.known_runs: dict[str, RunContext] = {}
        self.current: RunContext | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()

    # --- lifecycle -----------------------------------------------------------------------

    async def serve(self) -> None:
        self.insock.bind(f"tcp://{self.opts.host}:{self.opts.in_port}")
        self.outsock.bind(f"tcp://{self.opts.host}:{self.opts.out_port}")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        log.info("kernel runner ready (in %s, out %s, runtime %s, uid %d)",
                 self.opts.in_port, self.opts.out_port, self.opts.runtime_path, os.getuid())
        user_bootstrap = Path(self.opts.config_dir, "bootstrap.sh")
        if user_bootstrap.is_file():
            self._enqueue("__bootstrap__", "batch", {"exec": f"/bin/sh {user_bootstrap}"})
        worker = asyncio.create_task(self._worker())
        receiver = asyncio.create_task(self._receive())
        await self._stop.wait()
        log.info("kernel runner stopping")
        for t in (worker, receiver, *self._tasks):
            t.cancel()
        await asyncio.gather(worker, receiver, *self._tasks, return_exceptions=True)
        await self.services.close()
        await self.query.close()
        self.insock.close(0)
        self.outsock.close(0)
        self.zctx.term()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- incoming ------------------------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            frames = await self.insock.recv_multipart()
            try:
                await self._handle(frames)
            except Exception:
                log.exception("failed to handle a message")

    async def _handle(self, frames: list[bytes]) -> None:
        op = frames[0].decode("utf-8", "replace")
        if op not in OPS:
            if len(frames) >= 2:  # the manual's (identifier, code) query exchange
                ctx = RunContext(f"legacy-{op}", self.emitter, legacy=True)
                await self.runs.put((ctx, "code", {"code": frames[1].decode("utf-8", "replace")}))
            return
        body: dict[str, Any] = json.loads(frames[1]) if len(frames) > 1 and frames[1] else {}
        payload = frames[2] if len(frames) > 2 else b""
        if op in ("code", "batch"):
            self._enqueue(str(body.get("run_id") or ""), op, body)
        elif op == "input":
            target = self.known_runs.get(str(body.get("run_id"))) or self.current
            if target is not None:
                target.feed_input(str(body.get("text", "")))
        elif op == "interrupt":
            if self.current is not None:
                self.current.interrupt()
        elif op == "ping":
            await self.emitter.send("pong", {"req_id": body.get("req_id")})
        else:
            self._spawn(self._request(op, body, payload))

    def _enqueue(self, run_id: str, kind: str, body: dict[str, Any]) -> None:
        ctx = RunContext(run_id, self.emitter)
        self.known_runs[run_id] = ctx
        self.runs.put_nowait((ctx, kind, body))

    async def _request(self, op: str, body: dict[str, Any], payload: bytes) -> None:
        req_id = body.get("req_id")
        base = Path(self.workdir)
        try:
            if op == "complete":
                candidates = await self.query.complete(_completion_token(body))
                await self.emitter.send("completion", {"req_id": req_id, "candidates": candidates})
            elif op == "start-service":
                result = await self.services.start(
                    str(body.get("name")), [int(p) for p in body.get("ports") or []], body.get("options"),
                )
                await self.emitter.send("service-result", {"req_id": req_id, **result})
            elif op == "shutdown-service":
                result = await self.services.shutdown(str(body.get("name")))
                await self.emitter.send("service-result", {"req_id": req_id, **result})
            elif op == "list-files":
                result = await asyncio.to_thread(list_files, base, str(body.get("path") or "."))
                await self.emitter.send("files-result", {"req_id": req_id, **result})
            elif op == "upload-file":
                dest = await asyncio.to_thread(upload_file, base, str(body.get("path") or ""), payload)
                await self.emitter.send("upload-result", {"req_id": req_id, "path": dest})
            elif op == "download-file":
                data = await asyncio.to_thread(download_file, base, str(body.get("path") or ""))
                await self.emitter.send("download-result", {"req_id": req_id, "size": len(data)}, data)
        except (ServiceError, FileOpError, QueryModeUnavailable, OSError, ValueError) as e:
            await self.emitter.send("error", {"req_id": req_id, "op": op, "error": str(e)})

    # --- runs ----------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            ctx, kind, body = await self.runs.get()
            self.current = ctx
            try:
                if kind == "code":
                    exceptions = await self.query.execute(ctx, str(body.get("code", "")))
                    await ctx.finish(0, exceptions)
                else:
                    await self.batch.run(ctx, body.get("clean"), body.get("build"), body.get("exec"))
            except QueryModeUnavailable as e:
                ctx.write("stderr", f"{e}\n")
                await ctx.finish(-1, [["QueryModeUnavailable", [str(e)], True, None]])
            except Exception as e:
                log.exception("run %s failed", ctx.run_id)
                ctx.write("stderr", f"kernel runner error: {e!r}\n")
                await ctx.finish(-1, [[type(e).__name__, [str(e)], True, None]])
            finally:
                self.current = None
                self.known_runs.pop(ctx.run_id, None)


def _completion_token(body: dict[str, Any]) -> str:
    opts = body.get("options") or {}
    text = str(body.get("code") or "")
    line, col = opts.get("line"), opts.get("col")
    if isinstance(line, str) and line:
        text = line[: int(col)] if isinstance(col, int) else line
    m = _TOKEN.search(text)
    return m.group(0) if m else ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ai.backend.kernel", description="Backend.AI kernel runner")
    p.add_argument("--host", default="*")
    p.add_argument("--in-port", type=int, default=2000)
    p.add_argument("--out-port", type=int, default=2001)
    p.add_argument("--runtime-type", default="python")
    p.add_argument("--runtime-path", default=None)
    p.add_argument("--workdir", default="/home/work")
    p.add_argument("--config-dir", default="/home/config")
    p.add_argument("--service-defs", action="append", default=None)
    p.add_argument("--krunner-bin", default="/opt/backend.ai/bin")
    p.add_argument("--uid", type=int, default=None, help="prepare as root, then run as this uid")
    p.add_argument("--gid", type=int, default=None)
    p.add_argument("--debug", action="store_true")
    opts = p.parse_args(argv)
    if opts.service_defs is None:
        opts.service_defs = ["/etc/backend.ai/service-defs"]
    return opts


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if opts.debug else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if opts.uid is not None and os.getuid() == 0:
        gid = opts.gid if opts.gid is not None else opts.uid
        if opts.uid == 0:
            raise SystemExit("refusing to run user code as root (--uid 0)")
        prepare_container(opts.uid, gid, opts.workdir)
        drop_privileges(opts.uid, gid)
    os.environ.setdefault("HOME", opts.workdir)
    if os.getpid() == 1:
        fork_reaper()
    asyncio.run(Runner(opts).serve())
