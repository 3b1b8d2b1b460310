"""Runs the scheduler and the session lifecycle in every manager worker (no HTTP routes).

Registers the event handlers (agents, kernels, session requests) before the event
dispatcher starts (server.build_app starts it last), then runs three loops: scheduling
passes, the lifecycle watchdog (deadlines, re-drive, idle/lifetime) and the lost-agent check.
Several workers and manager processes can all run them: passes take a per-resource-group
advisory lock, the watchdog and the lost check skip a tick when another process holds theirs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from ai.backend.common.events.agent import (
    AgentHeartbeatEvent,
    AgentStartedEvent,
    AgentTerminatedEvent,
)
from ai.backend.common.events.kernel import (
    KernelCancelledEvent,
    KernelCreatingEvent,
    KernelPreparingEvent,
    KernelPullingEvent,
    KernelStartedEvent,
    KernelTerminatedEvent,
)
from ai.backend.common.events.session import (
    DoScheduleEvent,
    DoTerminateSessionEvent,
    SessionEnqueuedEvent,
    SessionFailureEvent,
    SessionSuccessEvent,
)
from ai.backend.common.lock import LockTimeout

from ..context import ROOT_CTX, RootContext
from ..scheduler.dispatcher import SchedulerDispatcher
from ..services import agent_registry, session_lifecycle
from ..services.session_start import drive_session
from ..services.session_watchdog import Watchdog

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_CONCURRENT_DRIVES = 64   # their DB work is bounded separately (session_start.db_slots)


class SchedulerRuntime:
    """The per-process scheduler state: the dispatcher, the watchdog and background steps."""

    def __init__(self, ctx: RootContext) -> None:
        self.ctx = ctx
        cfg = ctx.local_config.get("scheduler") or {}
        self.tick_interval = float(cfg.get("tick-interval", 2.0))
        self.lost_interval = float(cfg.get("lost-check-interval", 5.0))
        self.dispatcher = SchedulerDispatcher(ctx, self.start_session)
        self.watchdog = Watchdog(ctx, self.spawn, busy=lambda key: key in self._running)
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._sem = asyncio.Semaphore(MAX_CONCURRENT_DRIVES)
        self._loops: list[asyncio.Task[Any]] = []

    def spawn(self, coro: Coroutine[Any, Any, Any], key: str) -> None:
        """Run a step in the background unless the same step (key) is already running here."""
        if key in self._running:
            coro.close()
            return

        async def _run() -> None:
            async with self._sem:
                try:
                    await coro
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background step %s failed", key)

        task = asyncio.create_task(_run(), name=key)
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))

    def start_session(self, session_id: uuid.UUID) -> None:
        self.watchdog.due(session_id)   # counts as this session's latest drive
        self.spawn(drive_session(self.ctx, session_id), f"drive:{session_id}")

    def redrive(self, session_id: uuid.UUID) -> None:
        self.spawn(drive_session(self.ctx, session_id), f"drive:{session_id}")

    def register(self) -> None:
        ctx, d = self.ctx, self.ctx.event_dispatcher
        ctx.extensions["schedule_trigger"] = self.dispatcher.request
        ctx.extensions["redrive_trigger"] = self.redrive
        ctx.extensions["scheduler_runtime"] = self

        async def on_schedule(_: Any, source: str, event: Any) -> None:
            self.dispatcher.request()

        d.consume(SessionEnqueuedEvent, ctx, on_schedule)
        d.consume(DoScheduleEvent, ctx, on_schedule)
        d.consume(AgentHeartbeatEvent, ctx, agent_registry.handle_heartbeat)
        d.consume(AgentStartedEvent, ctx, agent_registry.handle_started)
        d.consume(AgentTerminatedEvent, ctx, agent_registry.handle_terminated)
        for cls in (KernelPreparingEvent, KernelPullingEvent, KernelCreatingEvent):
            d.consume(cls, ctx, session_lifecycle.on_kernel_progress)
        d.consume(KernelStartedEvent, ctx, session_lifecycle.on_kernel_started)
        d.consume(KernelCancelledEvent, ctx, session_lifecycle.on_kernel_cancelled)
        d.consume(KernelTerminatedEvent, ctx, session_lifecycle.on_kernel_terminated)
        d.consume(SessionSuccessEvent, ctx, session_lifecycle.on_batch_result)
        d.consume(SessionFailureEvent, ctx, session_lifecycle.on_batch_result)
        d.consume(DoTerminateSessionEvent, ctx, session_lifecycle.on_do_terminate)

    async def _periodic(self, name: str, interval: float, func: Any) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.ctx.distributed_lock(name, timeout=0):
                    await func()
            except LockTimeout:
                continue   # another process is doing it
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", name)

    async def _lost_check(self) -> None:
        await agent_registry.check_lost(self.ctx)

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self.dispatcher.run(), name="scheduler-dispatcher"),
            asyncio.create_task(self._periodic("session-watchdog", self.tick_interval, self.watchdog.tick),
                                name="session-watchdog"),
            asyncio.create_task(self._periodic("agent-lost-check", self.lost_interval, self._lost_check),
                                name="agent-lost-check"),
        ]
        self.dispatcher.request()

    async def stop(self) -> None:
        tasks = self._loops + list(self._running.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loops = []


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    ctx = app[ROOT_CTX]
    runtime = SchedulerRuntime(ctx)
    runtime.register()
    runtime.start()
    yield
    await runtime.stop()
    for key in ("schedule_trigger", "redrive_trigger", "scheduler_runtime"):
        ctx.extensions.pop(key, None)
