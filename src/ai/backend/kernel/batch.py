"""Batch mode: the clean, build and exec shell commands of the Batch Execution Query Object.

Each step runs in /home/work through bash (or sh). Reported in order: clean-finished,
build-finished, finished. An empty command skips its step (exit code 0); an empty exec means
build only. When the build fails, exec is not run and its exit code is 127. "*" selects the
runtime's default: clean does nothing, build installs setup.py projects, exec runs main.py.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
from pathlib import Path

from .run import RunContext

INTERRUPT_GRACE = 3.0


def _shell() -> str:
    return "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh"


class BatchRunner:
    def __init__(self, runtime_path: str | None, workdir: str) -> None:
        self.runtime_path = runtime_path
        self.workdir = workdir

    async def run(self, ctx: RunContext, clean: str | None, build: str | None, exec_: str | None) -> None:
        clean_code = await self._step(ctx, clean, default=None)
        await ctx.status("clean-finished", clean_code)
        build_code = await self._step(ctx, build, default=self._default_build)
        await ctx.status("build-finished", build_code)
        if not exec_:
            await ctx.finish(build_code)
        elif build_code != 0:
            ctx.write("stderr", f"The build step failed (exit code {build_code}); not executing.\n")
            await ctx.finish(127)
        else:
            await ctx.finish(await self._step(ctx, exec_, default=self._default_exec))

    async def _step(self, ctx: RunContext, command: str | None, default: object) -> int:
        if not command:
            return 0
        if command.strip() == "*":
            if default is None:
                return 0
            return await default(ctx)  # type: ignore[operator]
        return await self.shell(ctx, command)

    async def _default_build(self, ctx: RunContext) -> int:
        if Path(self.workdir, "setup.py").is_file() and self.runtime_path:
            if await self._has_pip():
                return await self.exec(ctx, [self.runtime_path, "-m", "pip", "install", "--user", "-e", "."])
            # images without pip: what the manual's batch example describes
            return await self.exec(ctx, [self.runtime_path, "setup.py", "install"])
        ctx.write("stderr", "No setup.py: the default build step does nothing.\n")
        return 0

    async def _has_pip(self) -> bool:
        assert self.runtime_path
        proc = await asyncio.create_subprocess_exec(
            self.runtime_path, "-c", "import pip", cwd=self.workdir, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return await proc.wait() == 0

    async def _default_exec(self, ctx: RunContext) -> int:
        if not self.runtime_path:
            ctx.write("stderr", "This kernel has no language runtime for the default exec step.\n")
            return 127
        if not Path(self.workdir, "main.py").is_file():
            ctx.write("stderr", 'Cannot find the main program ("main.py") for the default exec step.\n')
            return 127
        return await self.exec(ctx, [self.runtime_path, "main.py"])

    async def shell(self, ctx: RunContext, command: str) -> int:
        return await self.exec(ctx, [_shell(), "-c", command])

    async def exec(self, ctx: RunContext, argv: list[str]) -> int:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=self.workdir, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            ctx.write("stderr", f"cannot run {argv[0]}: {e}\n")
            return 127

        def interrupt() -> None:
            if proc.returncode is not None:
                return
            _killpg(proc.pid, signal.SIGINT)

            def escalate() -> None:
                if proc.returncode is None:
                    _killpg(proc.pid, signal.SIGKILL)

            asyncio.get_running_loop().call_later(INTERRUPT_GRACE, escalate)

        ctx.interrupt_handler = interrupt
        try:
            assert proc.stdout is not None and proc.stderr is not None
            await asyncio.gather(_pump(proc.stdout, ctx, "stdout"), _pump(proc.stderr, ctx, "stderr"))
            code = await proc.wait()
        finally:
            ctx.interrupt_handler = None
        return code if code >= 0 else 128 - code  # killed by a signal: 128 + signo, as shells report


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


async def _pump(stream: asyncio.StreamReader, ctx: RunContext, name: str) -> None:
    """Relays a command's output to the run and echoes it to the container's log (fd 1/2), so
    `session logs` shows what a batch session's startup command printed."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    echo_fd = 2 if name == "stderr" else 1
    while True:
        chunk = await stream.read(65536)
        try:
            os.write(echo_fd, chunk)
        except OSError:
            pass
        if not chunk:
            tail = decoder.decode(b"", final=True)
            if tail:
                ctx.write(name, tail)
            return
        ctx.write(name, decoder.decode(chunk))
