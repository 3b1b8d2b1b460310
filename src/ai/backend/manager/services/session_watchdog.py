"""The periodic lifecycle check: no session may get stuck, none may outlive its policy.

Each tick (one manager process at a time, under a non-blocking distributed lock):
- sessions in SCHEDULED..CREATING past the deadline of their status ([scheduler.deadlines])
  fail to ERROR with the reason; the others are re-driven (session_start.drive_session);
- kernels left RESTARTING past that deadline are RUNNING again (the agent always ends a
  restart with the kernel running; the heartbeat reconciliation catches a vanished one);
- kernels left TERMINATING are asked again to be destroyed; past the TERMINATING deadline
  they become ERROR (the heartbeat reconciliation stops a container that turns up later);
- RUNNING sessions are destroyed when the keypair resource policy's max_session_lifetime or
  idle_timeout is exceeded, and batch sessions when their own `timeout` is.

Idle time is measured from the last activity marker: the Redis key `session.<id>.last_access`
(live DB, unix time as a string) which execute/stream handlers update; without one, from the
moment the session became RUNNING. Batch sessions are exempt from the idle timeout.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ai.backend.common.status import SessionStatus, SessionTypes

from ..context import RootContext
from ..models import kernels, keypair_resource_policies, keypairs, sessions
from .session_announce import announce
from .session_lifecycle import fail_kernel_terminating, fail_session
from .session_termination import destroy_kernel, destroy_session
from .session_transitions import (
    CREATION_STATUSES,
    lock_session,
    now,
    refresh_session,
    transit_kernels,
)

log = logging.getLogger(__name__)

S = SessionStatus


def last_access_key(session_id: uuid.UUID | str) -> str:
    return f"session.{session_id}.last_access"


class Watchdog:
    def __init__(self, ctx: RootContext, spawn: Callable[[Any, str], None],
                 busy: Callable[[str], bool] = lambda key: False) -> None:
        self.ctx = ctx
        self.spawn = spawn                      # run a coroutine in the background, de-duplicated by key
        self.busy = busy                        # is that step running (or queued) in this process?
        cfg = ctx.local_config.get("scheduler") or {}
        self.deadlines: dict[str, float] = dict(cfg.get("deadlines") or {})
        self.redrive_interval = float(cfg.get("redrive-interval", 5.0))
        self.policy_interval = float(cfg.get("policy-check-interval", 5.0))
        self._last_policy_check = 0.0
        self._last_drive: dict[uuid.UUID, float] = {}

    def deadline(self, status: SessionStatus) -> float:
        return float(self.deadlines.get(status.value, 300.0))

    def due(self, key: uuid.UUID) -> bool:
        t = time.monotonic()
        if t - self._last_drive.get(key, 0.0) < self.redrive_interval:
            return False
        self._last_drive[key] = t
        return True

    def forget(self, key: uuid.UUID) -> None:
        self._last_drive.pop(key, None)

    async def tick(self) -> None:
        await self.check_creation()
        await self.check_terminating()
        await self.check_restarting()
        if time.monotonic() - self._last_policy_check >= self.policy_interval:
            self._last_policy_check = time.monotonic()
            await self.check_running()

    async def check_creation(self) -> None:
        from .session_start import drive_session

        async with self.ctx.db.connect() as conn:
            rows = (await conn.execute(
                sa.select(sessions.c.id, sessions.c.status, sessions.c.status_changed)
                .where(sessions.c.status.in_(list(CREATION_STATUSES))))).all()
        t = now()
        for row in rows:
            status = S(row.status)
            limit = self.deadline(status)
            if self.busy(f"drive:{row.id}"):
                continue   # being driven here (or queued behind other drives): not stuck
            if row.status_changed is not None and t - row.status_changed > timedelta(seconds=limit):
                await fail_session(self.ctx, row.id, reason=f"deadline-exceeded: {status.value} for more than {limit:g}s",
                                   data={"status": status.value, "deadline": limit})
                self.forget(row.id)
            elif self.due(row.id):
                self.spawn(drive_session(self.ctx, row.id), f"drive:{row.id}")

    async def check_terminating(self) -> None:
        async with self.ctx.db.connect() as conn:
            rows = (await conn.execute(
                sa.select(kernels.c.id, kernels.c.session_id, kernels.c.agent_addr, kernels.c.status_changed,
                          kernels.c.status_info)
                .where(kernels.c.status == S.TERMINATING))).all()
        t = now()
        limit = self.deadline(S.TERMINATING)
        for row in rows:
            if row.status_changed is not None and t - row.status_changed > timedelta(seconds=limit):
                await fail_kernel_terminating(self.ctx, row.id, f"deadline-exceeded: TERMINATING for more than {limit:g}s")
                self.forget(row.id)
            elif not row.agent_addr:
                from .session_termination import finalize_kernel

                await finalize_kernel(self.ctx, row.id, reason=row.status_info or "terminated")
            elif self.due(row.id):
                self.spawn(destroy_kernel(self.ctx, row.id, row.session_id, row.agent_addr,
                                          reason=row.status_info or "user-requested"), f"destroy:{row.id}")
        keep = {r.id for r in rows}
        if len(self._last_drive) > 10_000:
            self._last_drive = {k: v for k, v in self._last_drive.items() if k in keep}

    async def check_restarting(self) -> None:
        """A restart whose caller vanished (e.g. the manager restarted): the agent ends every
        restart with the kernel running, so past the deadline the kernel is RUNNING again; the
        heartbeat reconciliation corrects that if the container is in fact gone."""
        limit = self.deadline(S.RESTARTING)
        cutoff = now() - timedelta(seconds=limit)
        async with self.ctx.db.begin() as conn:
            rows = (await conn.execute(
                sa.select(kernels.c.id, kernels.c.session_id)
                .where((kernels.c.status == S.RESTARTING) & (kernels.c.status_changed < cutoff))
                .with_for_update(skip_locked=True))).all()
            changes = []
            for sid in {r.session_id for r in rows}:
                locked = await lock_session(conn, sid)
                await transit_kernels(conn, [r.id for r in rows if r.session_id == sid], S.RUNNING,
                                      from_statuses=[S.RESTARTING], reason="restart-unconfirmed")
                changes.append((sid, await refresh_session(conn, sid, reason="restart-unconfirmed", locked=locked)))
        for sid, change in changes:
            await announce(self.ctx, sid, change, "restart-unconfirmed")

    async def check_running(self) -> None:
        async with self.ctx.db.connect() as conn:
            rows = (await conn.execute(
                sa.select(sessions.c.id, sessions.c.session_type, sessions.c.created_at, sessions.c.status_changed,
                          sessions.c.timeout, keypair_resource_policies.c.idle_timeout,
                          keypair_resource_policies.c.max_session_lifetime)
                .select_from(sessions.join(keypairs, keypairs.c.access_key == sessions.c.access_key)
                             .join(keypair_resource_policies,
                                   keypair_resource_policies.c.name == keypairs.c.resource_policy))
                .where(sessions.c.status.in_([S.RUNNING, S.RUNNING_DEGRADED]))
                .where((keypair_resource_policies.c.idle_timeout > 0)
                       | (keypair_resource_policies.c.max_session_lifetime > 0)
                       | (sessions.c.timeout > 0)))).all()
        if not rows:
            return
        stamps = await self.ctx.redis.live.mget([last_access_key(r.id) for r in rows])
        t = now()
        wall = time.time()
        for row, stamp in zip(rows, stamps, strict=True):
            reason = None
            age = (t - row.created_at).total_seconds()
            if row.max_session_lifetime and age > row.max_session_lifetime:
                reason = f"max-session-lifetime-exceeded ({row.max_session_lifetime}s)"
            elif row.session_type == SessionTypes.BATCH and row.timeout and \
                    (t - (row.status_changed or row.created_at)).total_seconds() > row.timeout:
                reason = f"batch-timeout ({row.timeout}s)"
            elif row.idle_timeout and row.session_type != SessionTypes.BATCH:
                last = float(stamp) if stamp is not None else (row.status_changed or row.created_at).timestamp()
                if wall - last > row.idle_timeout:
                    reason = f"idle-timeout ({row.idle_timeout}s)"
            if reason is not None:
                log.info("terminating session %s: %s", row.id, reason)
                self.spawn(destroy_session(self.ctx, row.id, reason=reason), f"expire:{row.id}")
