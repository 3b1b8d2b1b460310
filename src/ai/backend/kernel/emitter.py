"""The runner's outgoing side: messages to the agent on the PUSH socket (port 2001).

Console text is coalesced: consecutive stdout (or stderr) writes of one run are merged and
sent every few milliseconds, and always before any control message, so the agent receives
fewer, larger items in the exact order they were produced.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import zmq
import zmq.asyncio

log = logging.getLogger("ai.backend.kernel.emitter")

FLUSH_DELAY = 0.02
FLUSH_SIZE = 64 * 1024


class Emitter:
    def __init__(self, sock: zmq.asyncio.Socket) -> None:
        self.sock = sock
        self._lock = asyncio.Lock()
        self._buf: list[list[str]] = []   # [run_id, stream, text]
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[None] | None = None

    async def send(self, kind: str, body: dict[str, Any], payload: bytes | None = None) -> None:
        """A control message; buffered console text goes out first."""
        async with self._lock:
            await self._flush_locked()
            await self._send_locked(kind, body, payload)

    async def send_raw(self, frames: list[bytes]) -> None:
        async with self._lock:
            await self._flush_locked()
            await self.sock.send_multipart(frames)

    def write(self, run_id: str, stream: str, text: str) -> None:
        if not text:
            return
        if self._buf and self._buf[-1][0] == run_id and self._buf[-1][1] == stream:
            self._buf[-1][2] += text
        else:
            self._buf.append([run_id, stream, text])
        self._size += len(text)
        if self._size >= FLUSH_SIZE:
            self._schedule(0)
        elif self._timer is None:
            self._schedule(FLUSH_DELAY)

    def _schedule(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._buf:
            buf, self._buf, self._size = self._buf, [], 0
            for run_id, stream, text in buf:
                await self._send_locked(stream, {"run_id": run_id, "data": text}, None)

    async def _send_locked(self, kind: str, body: dict[str, Any], payload: bytes | None) -> None:
        frames = [kind.encode(), json.dumps(body, ensure_ascii=False).encode("utf-8", "replace")]
        if payload is not None:
            frames.append(payload)
        await self.sock.send_multipart(frames)
