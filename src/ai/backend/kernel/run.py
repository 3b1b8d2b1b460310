"""One run (a query-mode snippet or a batch clean/build/exec sequence) and its console.

Query and batch executors write through a RunContext; it tags everything with the run id,
asks for user input (waiting-input) and reports the final status. A legacy run (the manual's
two-frame query exchange) collects everything into the single JSON reply instead.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable
from typing import Any

from .emitter import Emitter


class RunContext:
    def __init__(self, run_id: str, emitter: Emitter, *, legacy: bool = False) -> None:
        self.run_id = run_id
        self.emitter = emitter
        self.legacy = legacy
        self.interrupt_handler: Callable[[], None] | None = None
        self._pending_inputs: collections.deque[str] = collections.deque()
        self._input_waiter: asyncio.Future[str] | None = None
        self._collected: dict[str, list[Any]] = {"stdout": [], "stderr": [], "media": []}

    # --- console -------------------------------------------------------------------------

    def write(self, stream: str, text: str) -> None:
        if self.legacy:
            self._collected.setdefault(stream, []).append(text)
        else:
            self.emitter.write(self.run_id, stream, text)

    async def media(self, mime: str, data: str) -> None:
        if self.legacy:
            self._collected["media"].append([mime, data])
        else:
            await self.emitter.send("media", {"run_id": self.run_id, "data": [mime, data]})

    async def html(self, markup: str) -> None:
        if self.legacy:
            self._collected["media"].append(["text/html", markup])
        else:
            await self.emitter.send("html", {"run_id": self.run_id, "data": markup})

    async def status(self, kind: str, exit_code: int) -> None:
        """clean-finished / build-finished of a batch run."""
        if not self.legacy:
            await self.emitter.send(kind, {"run_id": self.run_id, "exitCode": exit_code})

    async def finish(
        self,
        exit_code: int,
        exceptions: list[Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        if self.legacy:
            reply = {
                "stdout": "".join(self._collected["stdout"]),
                "stderr": "".join(self._collected["stderr"]),
                "exceptions": exceptions or [],
                "media": self._collected["media"],
                "options": options or {"upload_output_files": True},
            }
            await self.emitter.send_raw([json.dumps(reply, ensure_ascii=False).encode("utf-8", "replace")])
            return
        await self.emitter.send("finished", {
            "run_id": self.run_id, "exitCode": exit_code,
            "exceptions": exceptions or [], "options": options,
        })

    # --- user input ----------------------------------------------------------------------

    async def ask_input(self, prompt: str, is_password: bool) -> str:
        if self._pending_inputs:
            return self._pending_inputs.popleft()
        if self.legacy:
            return ""  # the one-shot exchange has no way to ask
        if prompt:
            self.write("stdout", prompt)
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._input_waiter = fut
        await self.emitter.send("waiting-input", {"run_id": self.run_id, "is_password": is_password, "prompt": prompt})
        try:
            return await fut
        finally:
            self._input_waiter = None

    def feed_input(self, text: str) -> None:
        if self._input_waiter is not None and not self._input_waiter.done():
            self._input_waiter.set_result(text)
        else:
            self._pending_inputs.append(text)

    def interrupt(self) -> bool:
        if self.interrupt_handler is None:
            return False
        self.interrupt_handler()
        return True
