"""Background tasks: long operations (e.g. image rescans) that return a task id at once and
report progress as bgtask_* events; the latest state also stays in Redis for a day so a
late listener can catch up."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from ai.backend.common.events.bgtask import BgtaskDoneEvent, BgtaskFailedEvent, BgtaskUpdatedEvent

from ..context import RootContext

log = logging.getLogger(__name__)

Reporter = Callable[[str], Awaitable[None]]
TaskBody = Callable[[Reporter], Awaitable[str]]
STATE_TTL = 24 * 3600


def state_key(task_id: uuid.UUID) -> str:
    return f"bgtask.{task_id}"


async def _record(ctx: RootContext, task_id: uuid.UUID, status: str, message: str) -> None:
    key = state_key(task_id)
    await ctx.redis.live.hset(key, mapping={"status": status, "msg": message, "last_update": str(time.time())})
    await ctx.redis.live.expire(key, STATE_TTL)


async def start(ctx: RootContext, body: TaskBody, *, name: str) -> uuid.UUID:
    task_id = uuid.uuid4()
    await _record(ctx, task_id, "started", "")
    tasks: set[asyncio.Task[None]] = ctx.extensions.setdefault("bgtasks", set())

    async def report(message: str) -> None:
        await _record(ctx, task_id, "updated", message)
        await ctx.event_producer.produce_event(BgtaskUpdatedEvent(task_id=task_id, message=message))

    async def run() -> None:
        try:
            message = await body(report)
        except asyncio.CancelledError:
            await _record(ctx, task_id, "cancelled", "cancelled")
            raise
        except Exception as e:
            log.warning("background task %s (%s) failed: %s", task_id, name, e)
            await _record(ctx, task_id, "failed", str(e))
            await ctx.event_producer.produce_event(BgtaskFailedEvent(task_id=task_id, message=str(e)))
            return
        await _record(ctx, task_id, "done", message)
        await ctx.event_producer.produce_event(BgtaskDoneEvent(task_id=task_id, message=message))

    task = asyncio.create_task(run(), name=f"bgtask-{name}-{task_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task_id
