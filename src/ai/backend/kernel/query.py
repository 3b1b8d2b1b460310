"""Query mode: one long-lived interpreter of the image's Python (repl_child.py) per kernel.

The runner feeds it code over a pipe and relays its events to the current RunContext.
Interrupt sends SIGINT to the interpreter (KeyboardInterrupt in the user code); if the code
ignores it, the interpreter is killed and restarted after a grace period, and the run ends
with a note that the variables are lost.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from .run import RunContext

log = logging.getLogger("ai.backend.kernel.query")

CHILD_SCRIPT = Path(__file__).with_name("repl_child.py")
INTERRUPT_GRACE = 5.0
START_TIMEOUT = 30.0


class QueryModeUnavailable(RuntimeError):
    pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class QueryRunner:
    def __init__(self, runtime_path: str | None, workdir: str) -> None:
        self.runtime_path = runtime_path
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self._cmd_fd: int | None = None
        self._write_lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()
        self._ready: asyncio.Event = asyncio.Event()
        self._ctx: RunContext | None = None
        self._done: asyncio.Future[list[Any]] | None = None
        self._completions: dict[int, asyncio.Future[list[str]]] = {}
        self._next_id = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._generation = 0
        self._startup_errors: collections.deque[str] = collections.deque(maxlen=10)

    # --- process lifecycle ---------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def ensure_started(self) -> None:
        async with self._start_lock:
            if not self.alive:
                await self._start()

    async def _start(self) -> None:
        if not self.runtime_path or not Path(self.runtime_path).exists():
            raise QueryModeUnavailable(f"no language runtime for query mode (runtime path {self.runtime_path!r})")
        cmd_r, cmd_w = os.pipe()
        evt_r, evt_w = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                self.runtime_path, "-u", str(CHILD_SCRIPT), str(cmd_r), str(evt_w),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, pass_fds=(cmd_r, evt_w), cwd=self.workdir,
            )
        except BaseException:
            for fd in (cmd_r, cmd_w, evt_r, evt_w):
                os.close(fd)
            raise
        os.close(cmd_r)
        os.close(evt_w)
        if self._cmd_fd is not None:
            os.close(self._cmd_fd)
        self._cmd_fd = cmd_w
        self.proc = proc
        self._generation += 1
        self._ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(evt_r, "rb", 0))
        assert proc.stdout is not None and proc.stderr is not None
        self._spawn(self._read_events(reader))
        self._spawn(self._read_raw(proc.stdout, "stdout"))
        self._spawn(self._read_raw(proc.stderr, "stderr"))
        self._spawn(self._watch(proc, self._generation))
        try:
            await asyncio.wait_for(self._ready.wait(), START_TIMEOUT)
        except TimeoutError:
            proc.kill()
            raise QueryModeUnavailable(f"the interpreter {self.runtime_path} did not start") from None
        if proc.returncode is not None:
            await asyncio.sleep(0.05)  # the last stderr lines
            raise QueryModeUnavailable(
                f"the interpreter {self.runtime_path} exited at startup (code {proc.returncode}): "
                + " | ".join(self._startup_errors)
            )
        log.info("query-mode interpreter started (pid %d)", proc.pid)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, proc: asyncio.subprocess.Process, generation: int) -> None:
        code = await proc.wait()
        if generation != self._generation:
            return
        self._ready.set()  # unblock a start that is still waiting
        log.warning("query-mode interpreter exited with %s", code)
        await asyncio.sleep(0.01)  # let the pipe readers deliver the last output
        if self._ctx is not None:
            self._ctx.write(
                "stderr", f"\nThe interpreter exited (code {code}); it restarts with an empty context.\n"
            )
        if self._done is not None and not self._done.done():
            self._done.set_result([["InterpreterExited", [code], True, None]])
        for fut in self._completions.values():
            if not fut.done():
                fut.set_result([])
        self._completions.clear()

    async def close(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            await self.proc.wait()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._cmd_fd is not None:
            os.close(self._cmd_fd)
            self._cmd_fd = None

    # --- I/O -----------------------------------------------------------------------------

    async def _send(self, msg: dict[str, Any]) -> None:
        data = (json.dumps(msg) + "\n").encode()
        fd = self._cmd_fd
        if fd is None:
            raise QueryModeUnavailable("the interpreter is not running")
        async with self._write_lock:
            await asyncio.to_thread(_write_all, fd, data)

    async def _read_raw(self, stream: asyncio.StreamReader, name: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                return
            text = decoder.decode(chunk)
            if self._ctx is not None:
                self._ctx.write(name, text)
            elif text.strip():
                log.info("interpreter %s: %s", name, text.rstrip())
                self._startup_errors.extend(line for line in text.splitlines() if line.strip())

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            try:
                msg = json.loads(line)
            except ValueError:
                log.warning("undecodable interpreter event: %r", line[:200])
                continue
            await self._dispatch(msg)

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("t")
        ctx = self._ctx
        if kind == "ready":
            self._ready.set()
        elif kind == "out":
            if ctx is not None:
                ctx.write(msg.get("s", "stdout"), msg.get("d", ""))
        elif kind == "media" and ctx is not None:
            await ctx.media(msg.get("mime", "text/plain"), msg.get("data", ""))
        elif kind == "html" and ctx is not None:
            await ctx.html(msg.get("data", ""))
        elif kind == "input":
            if ctx is not None:
                self._spawn(self._relay_input(ctx, msg.get("prompt", ""), bool(msg.get("password"))))
            else:
                await self._send({"op": "input", "text": ""})
        elif kind == "done":
            await asyncio.sleep(0.005)  # output of subprocesses written just before
            if self._done is not None and not self._done.done():
                self._done.set_result(msg.get("exceptions") or [])
        elif kind == "completion":
            fut = self._completions.pop(msg.get("id", -1), None)
            if fut is not None and not fut.done():
                fut.set_result(list(msg.get("items") or []))

    async def _relay_input(self, ctx: RunContext, prompt: str, is_password: bool) -> None:
        text = await ctx.ask_input(prompt, is_password)
        await self._send({"op": "input", "text": text})

    # --- operations ----------------------------------------------------------------------

    async def execute(self, ctx: RunContext, code: str) -> list[Any]:
        """Run a snippet; returns the exceptions it raised (manual's 4-item form)."""
        await self.ensure_started()
        self._ctx = ctx
        self._done = asyncio.get_running_loop().create_future()
        ctx.interrupt_handler = self.interrupt
        try:
            await self._send({"op": "exec", "code": code})
            return await self._done
        finally:
            ctx.interrupt_handler = None
            self._ctx = None
            self._done = None

    def interrupt(self) -> None:
        if not self.alive:
            return
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGINT)
        done = self._done
        proc = self.proc

        def escalate() -> None:
            if done is not None and not done.done() and proc.returncode is None:
                log.warning("the code ignored the interrupt; restarting the interpreter")
                proc.kill()

        asyncio.get_running_loop().call_later(INTERRUPT_GRACE, escalate)

    async def complete(self, text: str, timeout: float = 5.0) -> list[str]:
        await self.ensure_started()
        self._next_id += 1
        req_id = self._next_id
        fut: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._completions[req_id] = fut
        try:
            await self._send({"op": "complete", "id": req_id, "text": text})
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return []
        finally:
            self._completions.pop(req_id, None)
