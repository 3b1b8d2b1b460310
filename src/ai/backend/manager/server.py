"""The manager's HTTP server: the aiohttp app, its lifecycle and the worker processes.

`build_app()` assembles the middleware pipeline and the API modules listed in API_MODULES
(later components append theirs). `run_server()` runs `num-proc` worker processes, each with
its own event loop and RootContext, all listening on the same port (SO_REUSEPORT) so the
kernel spreads connections across them.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from aiohttp import web

from ai.backend.common.logging import setup_logging
from ai.backend.common.types import BinarySize

from . import __version__
from .context import LOCAL_CONFIG, ROOT_CTX, WORKER_INDEX, root_context
from .middlewares import MIDDLEWARES, add_rate_limit_headers

log = logging.getLogger(__name__)

# Modules under ai.backend.manager.api that make up the REST API, in registration order.
API_MODULES: list[str] = [
    "root",
    "auth",
    "manager",
    "config",
    "resource",
    "scaling_group",
    "acl",
    "logs",
    "admin",
    # sessions: the static /session/create, /session/_/create come before /session/{name}
    "session",
    # vfolders: the static /folders/_/... and /folders/invitations/... routes come first
    "vfolder_hosts",
    "vfolder_sharing",
    "vfolder",
    "vfolder_files",
    # the scheduler loop and the session lifecycle (no routes; event handlers + loops)
    "scheduler_lifecycle",
    # per-session operations (execute, files, logs, streams, events)
    "session_exec",
    "stream",
    "session_files",
    "events",
    # session templates, dotfiles, and the session-mode web login (/server, /func)
    "template",
    "userconfig",
    "webserver",
]


def build_app(local_config: dict[str, Any], *, pidx: int = 0,
              modules: Sequence[str] | None = None) -> web.Application:
    """The complete manager app for one worker process (not started)."""
    app = web.Application(
        middlewares=MIDDLEWARES,
        client_max_size=int(BinarySize.from_str(local_config["manager"]["max-request-size"])),
    )
    app[LOCAL_CONFIG] = local_config
    app[WORKER_INDEX] = pidx
    app.on_response_prepare.append(add_rate_limit_headers)

    async def _root_ctx(app: web.Application) -> AsyncIterator[None]:
        async with root_context(local_config, pidx=pidx) as ctx:
            app[ROOT_CTX] = ctx
            yield

    app.cleanup_ctx.append(_root_ctx)
    for name in modules if modules is not None else API_MODULES:
        module = importlib.import_module(f"ai.backend.manager.api.{name}")
        app.router.add_routes(module.routes)
        lifecycle: Callable[[web.Application], AsyncIterator[None]] | None = getattr(module, "lifecycle", None)
        if lifecycle is not None:
            app.cleanup_ctx.append(lifecycle)
        # long-lived streams (SSE, websockets) must end when shutdown begins, or the server
        # waits for them until its shutdown timeout
        on_shutdown: Callable[[web.Application], Awaitable[None]] | None = getattr(module, "on_shutdown", None)
        if on_shutdown is not None:
            app.on_shutdown.append(on_shutdown)

    async def _events(app: web.Application) -> AsyncIterator[None]:
        # Last, so every module has registered its event handlers before consuming starts.
        dispatcher = app[ROOT_CTX].event_dispatcher
        await dispatcher.start()
        yield
        await dispatcher.close()

    app.cleanup_ctx.append(_events)
    return app


def _ssl_context(mgr: dict[str, Any]) -> ssl.SSLContext | None:
    if not mgr["ssl-enabled"]:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(mgr["ssl-cert"]), str(mgr["ssl-privkey"]))
    return ctx


async def serve(local_config: dict[str, Any], *, pidx: int = 0,
                stop: asyncio.Event | None = None, ready: Callable[[int], None] | None = None) -> None:
    """Run one worker until `stop` is set (or the task is cancelled)."""
    mgr = local_config["manager"]
    app = build_app(local_config, pidx=pidx)
    runner = web.AppRunner(app, access_log=None if not local_config["debug"]["enabled"] else log)
    await runner.setup()
    addr = mgr["service-addr"]
    site = web.TCPSite(runner, addr.host, addr.port, reuse_port=True, ssl_context=_ssl_context(mgr),
                       backlog=1024)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else addr.port
    log.info("manager worker %d (pid %d) serving on %s:%d", pidx, os.getpid(), addr.host, port)
    if ready is not None:
        ready(port)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()


def _worker_main(local_config: dict[str, Any], pidx: int) -> None:
    setup_logging(local_config["logging"], debug=local_config["debug"]["enabled"], service="manager")
    if local_config["manager"]["event-loop"] == "uvloop":
        import uvloop

        uvloop.install()

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(local_config, pidx=pidx, stop=stop)

    try:
        asyncio.run(_main())
    except Exception:
        log.exception("manager worker %d failed", pidx)
        sys.exit(1)


def _write_pid_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(os.getpid()))
    except OSError as e:
        log.warning("cannot write the pid file %s: %s", path, e)


def run_server(local_config: dict[str, Any]) -> int:
    """Start `num-proc` workers and supervise them; returns the exit code.

    If any worker exits on its own, the others are stopped too: a half-running manager
    would silently serve fewer connections than configured.
    """
    setup_logging(local_config["logging"], debug=local_config["debug"]["enabled"], service="manager")
    mgr = local_config["manager"]
    num_proc = int(mgr["num-proc"])
    pid_file = Path(mgr["pid-file"])
    _write_pid_file(pid_file)
    log.info("Backend.AI manager %s starting %d worker(s) on %s", __version__, num_proc, mgr["service-addr"])
    mp = multiprocessing.get_context("spawn")
    workers = [mp.Process(target=_worker_main, args=(local_config, i), name=f"manager-worker-{i}", daemon=False)
               for i in range(num_proc)]
    stopping = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for w in workers:
            if w.is_alive() and w.pid:
                os.kill(w.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    for w in workers:
        w.start()
    exit_code = 0
    try:
        while any(w.is_alive() for w in workers):
            for w in workers:
                w.join(timeout=0.5)
                if not w.is_alive() and not stopping:
                    log.error("worker %s exited with %s; stopping the manager", w.name, w.exitcode)
                    exit_code = 1
                    _stop(signal.SIGTERM, None)
    finally:
        try:
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
        except OSError:
            pass
    log.info("manager stopped")
    return exit_code
