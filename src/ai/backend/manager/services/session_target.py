"""The kernel a per-session operation goes to, and the agent call that reaches it.

Execute, interrupt, complete, files and logs all act on a session's main kernel through the
agent that runs it. This module resolves the session inside its owner's keypair, checks it
can take the request, records the session's last activity (the idle-timeout checker reads
Redis `session.{id}.last_access`), and turns agent-side failures into clear API errors.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ai.backend.common.rpc import RPCError, RPCTimeout
from ai.backend.common.status import SessionStatus

from ..context import RootContext
from ..errors import (  # noqa: F401  (the per-session errors are re-exported for the API modules)
    AgentFailure,
    AgentTimeout,
    BackendError,
    Conflict,
    InvalidAPIParameters,
    KernelNotRunning,
    ObjectNotFound,
    QuotaExceeded,
    SessionNotRunning,
)
from ..models import kernels
from .session_lookup import resolve_session

LAST_ACCESS_TTL = 7 * 24 * 3600
# Sessions whose main kernel can take user requests.
USABLE_STATUSES = frozenset({SessionStatus.RUNNING, SessionStatus.RUNNING_DEGRADED})


@dataclass(frozen=True)
class KernelTarget:
    session_id: uuid.UUID
    session_name: str
    access_key: str
    status: SessionStatus
    kernel_id: uuid.UUID | None
    agent_id: str | None
    agent_addr: str | None


def last_access_key(session_id: uuid.UUID) -> str:
    return f"session.{session_id}.last_access"


async def touch(ctx: RootContext, session_id: uuid.UUID) -> None:
    """Mark the session as used now (idle-timeout checks read this)."""
    await ctx.redis.live.set(last_access_key(session_id), f"{time.time():.6f}", ex=LAST_ACCESS_TTL)


async def find_target(ctx: RootContext, owner_access_key: str, name_or_id: str, *,
                      require_running: bool = True) -> KernelTarget:
    """The owner's session and its main kernel; SessionNotFound / SessionNotRunning otherwise."""
    async with ctx.db.connect() as conn:
        sess = await resolve_session(conn, owner_access_key, name_or_id)
        krow = (await conn.execute(
            sa.select(kernels.c.id, kernels.c.agent, kernels.c.agent_addr)
            .where(kernels.c.session_id == sess.id, kernels.c.cluster_role == "main")
            .order_by(kernels.c.cluster_idx).limit(1),
        )).first()
    status = SessionStatus(sess.status)
    if require_running and status not in USABLE_STATUSES:
        raise SessionNotRunning(f"session {sess.name} is {status.value}, not RUNNING")
    target = KernelTarget(
        session_id=sess.id, session_name=sess.name, access_key=sess.access_key, status=status,
        kernel_id=krow.id if krow else None, agent_id=krow.agent if krow else None,
        agent_addr=krow.agent_addr if krow else None,
    )
    if require_running and (target.kernel_id is None or not target.agent_addr):
        raise SessionNotRunning(f"session {sess.name} has no placed main kernel")
    await touch(ctx, sess.id)
    return target


def _file_error(message: str) -> BackendError:
    low = message.lower()
    if "no such file" in low:
        return ObjectNotFound(message)
    if "too large" in low:
        return QuotaExceeded(message)
    return InvalidAPIParameters(message)


async def call_agent(ctx: RootContext, target: KernelTarget, method: str, *args: Any,
                     timeout: float | None = None, **kwargs: Any) -> Any:
    """Call `method` on the target's agent with the kernel id first; errors become 4xx/5xx."""
    assert target.agent_addr is not None and target.kernel_id is not None
    try:
        return await ctx.agents.call(target.agent_addr, method, str(target.kernel_id), *args,
                                     timeout=timeout, **kwargs)
    except RPCTimeout:
        raise AgentTimeout(f"agent {target.agent_id} did not answer {method} in time") from None
    except RPCError as e:
        if e.type in ("KernelNotFound", "KernelNotRunning", "AgentNotReady"):
            raise KernelNotRunning(f"session {target.session_name}: {e.message}") from None
        if e.type in ("InvalidArgument", "ValueError", "UnknownRun"):
            raise InvalidAPIParameters(e.message) from None
        if e.type in ("RunnerError", "FileOpError"):
            raise _file_error(e.message) from None
        if e.type in ("RunnerTimeout", "TimeoutError"):
            raise AgentTimeout(f"session {target.session_name}: {e.message}") from None
        raise AgentFailure(f"agent {target.agent_id}: {e.type}: {e.message}") from None
