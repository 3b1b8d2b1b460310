from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from ai.backend.common.types import ResourceSlot
from ai.backend.manager.scheduler.types import AgentView, PendingKernel, PendingSession

_clock = itertools.count()
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_session(
    name: str,
    slots: dict,
    *,
    user: uuid.UUID | None = None,
    access_key: str = "AK",
    cluster_size: int = 1,
    cluster_mode: str = "single-node",
    sg: str = "default",
    group: uuid.UUID | None = None,
    domain: str = "default",
    arch: str = "x86_64",
    **kw,
) -> PendingSession:
    kernels = [
        PendingKernel(uuid.uuid4(), "main" if i == 0 else "sub", 1 if i == 0 else i,
                      ResourceSlot(slots), architecture=arch)
        for i in range(cluster_size)
    ]
    return PendingSession(
        session_id=uuid.uuid4(), name=name, access_key=access_key, user_id=user or uuid.uuid4(),
        group_id=group or uuid.UUID(int=1), domain_name=domain, scaling_group=sg,
        created_at=_T0 + timedelta(seconds=next(_clock)), kernels=kernels,
        cluster_mode=cluster_mode, **kw,
    )


def make_agent(agent_id: str, slots: dict, occupied: dict | None = None, arch: str = "x86_64") -> AgentView:
    return AgentView(agent_id, arch, ResourceSlot(slots), ResourceSlot(occupied or {}))
