"""The execute run loop of a session (Code Execution Model), FIFO across its runs.

A run starts with a query or batch call and lasts until a call returns "finished"; between
those the client keeps calling with "continue" (or "input"). Only one run of a session is in
flight at a time: later runs wait in a per-session queue kept in Redis, so every manager
process sees the same order. A waiting run's calls answer "continued" with no output until
its turn comes (the client's loop already handles that), then its code goes to the kernel.
A run whose client stopped calling is dropped (and the kernel interrupted, in case it waits
for input nobody will send) after ABANDON_AFTER so it cannot block the session forever, and a
run that waits longer than QUEUE_TIMEOUT ends with "exec-timeout".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import sqlalchemy as sa

from ..context import RootContext
from ..errors import InvalidAPIParameters
from ..models import kernels, sessions
from .session_target import AgentTimeout, KernelTarget, call_agent

log = logging.getLogger(__name__)

MODES = frozenset({"query", "batch", "continue", "input"})
MODE_ALIASES = {"continued": "continue", "user-input": "input"}
TURN_WAIT = 2.0          # how long a queued run's call waits for its turn before "continued"
POLL_INTERVAL = 0.05
ABANDON_AFTER = 120.0    # a run nobody called for this long no longer holds the queue
QUEUE_TIMEOUT = 600.0    # a run waiting this long for its turn is cancelled ("exec-timeout")
STATE_TTL = 3600


def queue_key(session_id: uuid.UUID) -> str:
    return f"session.{session_id}.runs"


def run_key(session_id: uuid.UUID, run_id: str) -> str:
    return f"session.{session_id}.run.{run_id}"


def empty_result(run_id: str, status: str) -> dict[str, Any]:
    return {"runId": run_id, "status": status, "console": [], "exitCode": None, "options": None, "files": []}


def normalize_mode(mode: Any) -> str:
    mode = MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise InvalidAPIParameters(f"mode: {mode!r} is not one of query, batch, continue, input")
    return str(mode)


async def _count_query(ctx: RootContext, target: KernelTarget) -> None:
    async with ctx.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == target.session_id)
                           .values(num_queries=sessions.c.num_queries + 1))
        await conn.execute(sa.update(kernels).where(kernels.c.id == target.kernel_id)
                           .values(num_queries=kernels.c.num_queries + 1))


async def _enqueue(ctx: RootContext, target: KernelTarget, run_id: str, mode: str, code: str,
                   opts: dict[str, Any]) -> bool:
    """Queue a new run; False when this run id is already known (a repeated first call)."""
    redis, key = ctx.redis.live, run_key(target.session_id, run_id)
    now = f"{time.time():.6f}"
    created = await redis.hsetnx(key, "mode", mode)
    if not created:
        return False
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"code": code, "opts": json.dumps(opts), "state": "queued",
                                "queued_at": now, "touched": now})
        pipe.expire(key, STATE_TTL)
        pipe.rpush(queue_key(target.session_id), run_id)
        pipe.expire(queue_key(target.session_id), STATE_TTL)
        await pipe.execute()
    await _count_query(ctx, target)
    return True


async def _finish(ctx: RootContext, session_id: uuid.UUID, run_id: str) -> None:
    async with ctx.redis.live.pipeline(transaction=True) as pipe:
        pipe.lrem(queue_key(session_id), 0, run_id)
        pipe.delete(run_key(session_id, run_id))
        await pipe.execute()


async def _wait_turn(ctx: RootContext, target: KernelTarget, run_id: str, budget: float) -> bool:
    """True once `run_id` heads the queue; False if `budget` seconds pass first."""
    redis, session_id = ctx.redis.live, target.session_id
    deadline = time.monotonic() + budget
    while True:
        head = await redis.lindex(queue_key(session_id), 0)
        if head is None:
            return False
        head_id = head.decode() if isinstance(head, bytes) else str(head)
        if head_id == run_id:
            return True
        touched = await redis.hget(run_key(session_id, head_id), "touched")
        if touched is None or time.time() - float(touched) > ABANDON_AFTER:
            await cancel_run(ctx, target, head_id)  # abandoned: let the next run go
            continue
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)


async def execute(ctx: RootContext, target: KernelTarget, *, run_id: str | None, mode: str, code: str,
                  opts: dict[str, Any]) -> dict[str, Any]:
    """One execute call of the run loop; returns the Execution Result Object."""
    mode = normalize_mode(mode)
    sid = target.session_id
    if mode in ("query", "batch"):
        run_id = run_id or uuid.uuid4().hex[:16]
        await _enqueue(ctx, target, run_id, mode, code, opts)
    elif not run_id:
        raise InvalidAPIParameters(f"runId: a {mode} call must name the run it continues")
    assert run_id is not None
    key = run_key(sid, run_id)
    raw = await ctx.redis.live.hgetall(key)
    state: dict[str, str] = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                             for k, v in raw.items()}
    if not state:
        # not queued by us (e.g. expired): the agent decides whether it knows this run
        return await _call_execute(ctx, target, run_id, mode, code, opts)
    await ctx.redis.live.hset(key, "touched", f"{time.time():.6f}")
    if state.get("state") == "queued":
        if mode == "input":
            raise InvalidAPIParameters(f"run {run_id} has not started yet; it cannot take input")
        if not await _wait_turn(ctx, target, run_id, TURN_WAIT):
            if time.time() - float(state.get("queued_at") or 0) > QUEUE_TIMEOUT:
                await _finish(ctx, sid, run_id)
                return empty_result(run_id, "exec-timeout")
            return empty_result(run_id, "continued")
        await ctx.redis.live.hset(key, "state", "started")
        mode, code, opts = state["mode"], state.get("code", ""), json.loads(state.get("opts") or "{}")
    elif mode in ("query", "batch"):
        mode, code = "continue", ""   # a repeated first call of a started run picks it up
    return await _call_execute(ctx, target, run_id, mode, code, opts)


async def _call_execute(ctx: RootContext, target: KernelTarget, run_id: str, mode: str, code: str,
                        opts: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await call_agent(ctx, target, "execute", run_id, mode, code, opts)
    except AgentTimeout:
        await _finish(ctx, target.session_id, run_id)
        return empty_result(run_id, "exec-timeout")
    except InvalidAPIParameters:
        # never started, or the kernel does not know the run (e.g. it was restarted): either
        # way this run is over and must not hold the queue
        await _finish(ctx, target.session_id, run_id)
        raise
    except Exception:
        if mode in ("query", "batch"):
            await _finish(ctx, target.session_id, run_id)  # never started: do not block others
        raise
    if result.get("status") == "finished":
        await _finish(ctx, target.session_id, run_id)
    result.setdefault("files", [])
    return result


async def interrupt(ctx: RootContext, target: KernelTarget) -> None:
    await call_agent(ctx, target, "interrupt_kernel")


async def complete(ctx: RootContext, target: KernelTarget, code: str, opts: dict[str, Any]) -> list[str]:
    return list(await call_agent(ctx, target, "get_completions", code, opts) or [])


async def cancel_run(ctx: RootContext, target: KernelTarget, run_id: str) -> None:
    """The client of this run went away for good (its websocket closed): interrupt the run if
    it reached the kernel, and free the queue now. Best effort: the session may be gone too."""
    state = await ctx.redis.live.hget(run_key(target.session_id, run_id), "state")
    if state in (b"started", "started"):
        try:
            await interrupt(ctx, target)
        except Exception as e:
            log.info("could not interrupt the cancelled run %s of session %s: %s", run_id, target.session_id, e)
    await _finish(ctx, target.session_id, run_id)
