"""PENDING sessions inserted exactly as the create API writes them (the schema contract):
a sessions row plus its kernel rows (status PENDING, agent NULL, requested_slots, image,
architecture, cluster role/idx/hostname, environ), dependencies, then session_enqueued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.events import EventProducer
from ai.backend.common.events.session import SessionEnqueuedEvent
from ai.backend.common.status import ClusterMode, SessionStatus, SessionTypes
from ai.backend.common.types import ResourceSlot
from ai.backend.manager.models import kernels, session_dependencies, sessions

IMAGE = "cr.backend.ai/stable/python:3.11-debian12"
DEFAULT_GROUP = uuid.UUID("2de2b969-1d04-48a6-af16-0bc8adb3c831")
USER_UUID = uuid.UUID("4f13d193-f646-425a-a340-270c4d2b9860")
USER_AK = "AKIANABBDUSEREXAMPLE"
ADMIN_UUID = uuid.UUID("f38dea23-50fa-42a0-b5ae-338f5f4693f4")
ADMIN_AK = "AKIAIOSFODNN7EXAMPLE"


async def create_pending(
    db: AsyncEngine,
    name: str | None = None,
    *,
    slots: dict[str, Any] | None = None,
    cluster_size: int = 1,
    cluster_mode: ClusterMode = ClusterMode.SINGLE_NODE,
    session_type: SessionTypes = SessionTypes.INTERACTIVE,
    startup_command: str | None = None,
    access_key: str = USER_AK,
    user_uuid: uuid.UUID = USER_UUID,
    group_id: uuid.UUID = DEFAULT_GROUP,
    domain_name: str = "default",
    scaling_group: str | None = "default",
    image: str = IMAGE,
    architecture: str = "x86_64",
    depends_on: list[uuid.UUID] | None = None,
    starts_at: datetime | None = None,
    created_at: datetime | None = None,
    internal_data: dict[str, Any] | None = None,
    producer: EventProducer | None = None,
) -> uuid.UUID:
    """Insert one PENDING session (per-kernel `slots`) and announce it; returns its id."""
    sid = uuid.uuid4()
    name = name or f"s-{sid.hex[:8]}"
    per_kernel = ResourceSlot.from_user_input(slots or {"cpu": "1", "mem": "1g"})
    total = ResourceSlot()
    for _ in range(cluster_size):
        total = total + per_kernel
    ts = created_at or datetime.now(UTC)
    owner = {"domain_name": domain_name, "group_id": group_id, "user_uuid": user_uuid, "access_key": access_key}
    history = [{"status": "PENDING", "timestamp": ts.isoformat()}]
    async with db.begin() as conn:
        await conn.execute(sa.insert(sessions).values(
            id=sid, creation_id=sid.hex[:32], name=name, session_type=session_type, cluster_mode=cluster_mode,
            cluster_size=cluster_size, images=[image], scaling_group_name=scaling_group,
            requested_slots=total, environ={"SESSION_ENV": "1"}, vfolder_mounts=[],
            startup_command=startup_command, created_at=ts, starts_at=starts_at,
            status=SessionStatus.PENDING, status_changed=ts, status_history=history, **owner))
        for i in range(cluster_size):
            role, idx = ("main", 1) if i == 0 else ("sub", i)
            await conn.execute(sa.insert(kernels).values(
                id=uuid.uuid4(), session_id=sid, session_creation_id=sid.hex[:32], session_name=name,
                session_type=session_type, cluster_mode=cluster_mode, cluster_size=cluster_size,
                cluster_role=role, cluster_idx=idx, local_rank=i, cluster_hostname=f"{role}{idx}",
                scaling_group=scaling_group, image=image, architecture=architecture,
                registry=image.split("/", 1)[0], requested_slots=per_kernel, environ=["KERNEL_ENV=1"],
                vfolder_mounts=[], startup_command=startup_command if role == "main" else None,
                internal_data=internal_data, created_at=ts, status=SessionStatus.PENDING, status_changed=ts,
                status_history=history, **owner))
        for dep in depends_on or []:
            await conn.execute(sa.insert(session_dependencies).values(session_id=sid, depends_on=dep))
    if producer is not None:
        await producer.produce_event(SessionEnqueuedEvent(session_id=sid))
    return sid
