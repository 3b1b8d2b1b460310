"""`backend.ai run`: create (or reuse) a session, run code or files in it, print the output.

With --env-range/--exec-range/--build-range the command expands every combination of the
ranges into its own session and runs them concurrently (at most --max-parallel at a time);
each case's output lines are prefixed with its case number so they stay readable.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from ..context import ExitCode
from ..params import RangeExpr
from ..pretty import format_error, print_done, print_fail, print_info, print_wait, print_warn
from ..ranges import expand, interpolate
from .args import creation_kwargs, describe_status, new_session_name, parse_kv, start_options


@dataclass
class Case:
    index: int
    envs: dict[str, str]
    build: str | None
    exec: str | None
    label: str          # "X=1 Y=a" for humans


def make_cases(envs: dict[str, str], build: str | None, exec_: str | None,
               env_ranges: Sequence[tuple[str, Sequence[str]]],
               build_ranges: Sequence[tuple[str, Sequence[str]]],
               exec_ranges: Sequence[tuple[str, Sequence[str]]]) -> list[Case]:
    """Every distinct combination of the range values, with $NAME interpolated."""
    cases: list[Case] = []
    seen: set[tuple[Any, ...]] = set()
    for env_case in expand(env_ranges):
        for build_case in expand(build_ranges):
            for exec_case in expand(exec_ranges):
                e = {k: interpolate(v, env_case) for k, v in envs.items()}
                b = interpolate(build, build_case) if build else None
                x = interpolate(exec_, exec_case) if exec_ else None
                key = (tuple(sorted(e.items())), b, x)
                if key in seen:
                    continue
                seen.add(key)
                label = " ".join(f"{k}={v}" for k, v in {**env_case, **build_case, **exec_case}.items())
                cases.append(Case(len(cases) + 1, e, b, x, label))
    return cases


class Console:
    """Where one case's output goes: straight through, or line-prefixed when several run."""

    def __init__(self, prefix: str, quiet: bool) -> None:
        self.prefix = prefix
        self.quiet = quiet
        self._partial = {"stdout": "", "stderr": ""}

    def write(self, stream: str, text: str) -> None:
        out = sys.stdout if stream == "stdout" else sys.stderr
        if not self.prefix:
            out.write(text)
            out.flush()
            return
        buf = self._partial[stream] + text
        *lines, self._partial[stream] = buf.split("\n")
        for line in lines:
            out.write(f"{self.prefix}{line}\n")
        out.flush()

    def flush(self) -> None:
        for stream, rest in self._partial.items():
            if rest:
                self.write(stream, "\n")

    def status(self, printer: Callable[[str], None], msg: str) -> None:
        if not self.quiet:
            printer(self.prefix + msg)


async def exec_loop(cs: Any, mode: str, code: str, opts: dict[str, Any] | None, console: Console) -> int | None:
    """Drive one run through the REST execute API until it finishes; returns its exit code."""
    run_id = None
    pending_opts = dict(opts or {})
    while True:
        result = await cs.execute(run_id, code, mode=mode, opts=pending_opts)
        run_id = result.get("runId", run_id)
        pending_opts = {}
        for rec in result.get("console") or []:
            kind, data = rec[0], rec[1]
            if kind in ("stdout", "stderr"):
                console.write(kind, str(data))
            else:
                console.write("stdout", f"----- output record (type: {kind}) -----\n{data}\n----- end of record -----\n")
        for item in result.get("files") or []:
            console.write("stdout", f"generated file: {item.get('name')}: {item.get('url')}\n")
        status = result.get("status")
        if status == "finished":
            console.flush()
            exit_code = result.get("exitCode")
            console.status(print_done, f"Execution finished. (exit code = {exit_code})")
            return exit_code if isinstance(exit_code, int) else None
        if status in ("build-finished", "clean-finished"):
            console.status(print_done, f"{status.split('-')[0].capitalize()} finished. "
                                       f"(exit code = {result.get('exitCode')})")
            mode, code = "continue", ""
        elif status == "waiting-input":
            console.flush()
            is_password = bool((result.get("options") or {}).get("is_password"))
            mode, code = "input", (getpass.getpass() if is_password else input())
        else:   # continued
            mode, code = "continue", ""


@click.command()
@click.argument("image")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-c", "--code", metavar="CODE", default=None, help="The code to run (query mode).")
@click.option("--clean", metavar="CMD", default=None, help="Shell command cleaning up before the build.")
@click.option("-b", "--build", metavar="CMD", default=None, help="Shell command building the given files.")
@click.option("--exec", "exec_", metavar="CMD", default=None, help="Shell command running the given files.")
@click.option("--basedir", type=click.Path(file_okay=False), default=None,
              help="Local directory the uploaded files are relative to.")
@click.option("--bootstrap-script", type=click.File("r"), default=None, help="Script run on startup.")
@click.option("--rm", is_flag=True, help="Terminate the session after the run.")
@click.option("-s", "--stats", is_flag=True, help="With --rm: show resource usage statistics.")
@click.option("-q", "--quiet", is_flag=True, help="Only the program's output, no status lines.")
@click.option("--env-range", metavar="RANGE_EXPR", multiple=True, type=RangeExpr(),
              help="NAME=case:a,b | NAME=range:start,stop[,step] | NAME=linspace:start,stop,num for $NAME in -e.")
@click.option("--build-range", metavar="RANGE_EXPR", multiple=True, type=RangeExpr(),
              help="A range for $NAME in --build.")
@click.option("--exec-range", metavar="RANGE_EXPR", multiple=True, type=RangeExpr(),
              help="A range for $NAME in --exec.")
@click.option("--max-parallel", metavar="NUM", type=int, default=2, help="Sessions running at the same time.")
@click.option("--preopen", default=None, help="Comma-separated ports to pre-open.")
@start_options
def run(image: str, files: tuple[str, ...], code: str | None, clean: str | None, build: str | None,
        exec_: str | None, basedir: str | None, bootstrap_script: Any, rm: bool, stats: bool, quiet: bool,
        env_range: tuple[Any, ...], build_range: tuple[Any, ...], exec_range: tuple[Any, ...],
        max_parallel: int, preopen: str | None, name: str | None, env: tuple[str, ...],
        **opts: Any) -> None:
    """Run code (-c) or files in a session of IMAGE (a name or an alias such as "python").

    \b
    IMAGE: the kernel image, e.g. python or cr.backend.ai/stable/python:3.11-ubuntu
    FILES: local files to upload and run in batch mode (with --build/--exec)
    """
    if files and code:
        print_fail("Give either FILES or -c CODE, not both.")
        sys.exit(ExitCode.INVALID_ARGUMENT)
    if not files and not code:
        print_fail('Nothing to run: give -c CODE or one or more FILES.')
        sys.exit(ExitCode.INVALID_ARGUMENT)
    cases = make_cases(parse_kv(env, "env"), build, exec_, env_range, build_range, exec_range)
    multi = len(cases) > 1
    if multi and max_parallel <= 0:
        print_fail("--max-parallel must be a positive number.")
        sys.exit(ExitCode.INVALID_ARGUMENT)
    base_name = name or new_session_name()
    if multi and not quiet:
        print_info(f"Running {len(cases)} sessions for these combinations:")
        for c in cases:
            print_info(f"[{c.index}] {c.label}")
    extra = {"bootstrap_script": bootstrap_script.read() if bootstrap_script else None,
                 "preopen_ports": [int(p) for p in preopen.split(",")] if preopen else None}

    async def run_case(s: Any, case: Case, gate: asyncio.Semaphore) -> bool:
        console = Console(f"[{case.index}] " if multi else "", quiet)
        sess_name = f"{base_name}-{case.index}" if multi else base_name
        async with gate:
            try:
                kwargs = creation_kwargs(name=sess_name, envs=case.envs, **opts, **extra)
                cs = await s.ComputeSession.get_or_create(image, **kwargs)
            except Exception as e:
                print_fail(console.prefix + format_error(e))
                return False
            ready, kind, msg = describe_status(cs, sess_name)
            if not ready:
                {"info": print_info, "warn": print_warn, "fail": print_fail}[kind](console.prefix + msg)
                return kind == "info"
            console.status(print_done, msg)
            ok = True
            try:
                if files:
                    console.status(print_wait, "Uploading source files...")
                    await cs.upload(list(files), basedir=basedir, show_progress=not multi and not quiet)
                    console.status(print_done, "Uploading done.")
                    exit_code = await exec_loop(cs, "batch", "", {
                        "clean": clean or "*", "build": case.build or "*", "exec": case.exec or "*"}, console)
                else:
                    exit_code = await exec_loop(cs, "query", code or "", None, console)
                ok = exit_code in (0, None)
            except Exception as e:
                print_fail(console.prefix + format_error(e))
                ok = False
            finally:
                if rm:
                    try:
                        ret = await cs.destroy()
                        console.status(print_done, "Cleaned up the session.")
                        if stats:
                            data = ret.get("stats") if isinstance(ret, dict) else None
                            click.echo(f"{console.prefix}Statistics: {data if data else 'not available'}")
                    except Exception as e:
                        print_fail(console.prefix + "Cleaning up failed: " + format_error(e))
            return ok

    async def run_all() -> list[bool]:
        from ai.backend.client.session import AsyncSession

        gate = asyncio.Semaphore(max(1, max_parallel))
        async with AsyncSession() as s:
            return list(await asyncio.gather(*(run_case(s, c, gate) for c in cases)))

    try:
        results = asyncio.run(run_all())
    except KeyboardInterrupt:
        print_warn("Interrupted.")
        sys.exit(ExitCode.FAILURE)
    except Exception as e:
        print_fail(format_error(e))
        sys.exit(ExitCode.FAILURE)
    if not all(results):
        sys.exit(ExitCode.FAILURE)
