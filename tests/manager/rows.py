"""Rows other components write (agents register themselves; the session lifecycle creates
sessions and kernels), inserted directly so the admin API has something real to show."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.common.types import ResourceSlot
from ai.backend.manager.models import agents, kernels, sessions

DEFAULT_GROUP = uuid.UUID("2de2b969-1d04-48a6-af16-0bc8adb3c831")
USER_UUID = uuid.UUID("4f13d193-f646-425a-a340-270c4d2b9860")


async def add_agent(db: AsyncEngine, agent_id: str, slots: dict[str, Any], *, scaling_group: str = "default",
                    status: AgentStatus = AgentStatus.ALIVE, region: str = "local") -> None:
    async with db.begin() as conn:
        await conn.execute(sa.insert(agents).values(
            id=agent_id, status=status, status_changed=datetime.now(UTC), region=region,
            scaling_group=scaling_group, available_slots=ResourceSlot.from_user_input(slots),
            resource_slot_types={"cpu": "count", "mem": "bytes"}, addr="tcp://127.0.0.1:6001",
            version="23.09.0", architecture="x86_64", compute_plugins={},
        ))


async def add_session(db: AsyncEngine, name: str, *, agent: str | None, slots: dict[str, Any],
                      status: SessionStatus = SessionStatus.RUNNING, access_key: str = "AKIANABBDUSEREXAMPLE",
                      user_uuid: uuid.UUID = USER_UUID, group_id: uuid.UUID = DEFAULT_GROUP,
                      domain_name: str = "default", image: str = "cr.backend.ai/stable/python:3.11-debian12",
                      status_info: str | None = None, status_data: dict[str, Any] | None = None) -> uuid.UUID:
    sid = uuid.uuid4()
    occupied = ResourceSlot.from_user_input(slots)
    now = datetime.now(UTC)
    common = {"domain_name": domain_name, "group_id": group_id, "user_uuid": user_uuid, "access_key": access_key}
    async with db.begin() as conn:
        await conn.execute(sa.insert(sessions).values(
            id=sid, name=name, images=[image], scaling_group_name="default", agent_ids=[agent] if agent else [],
            requested_slots=occupied, occupying_slots=occupied if agent else ResourceSlot(), status=status,
            status_changed=now, status_info=status_info, status_data=status_data,
            status_history=[{"status": status.value, "timestamp": now.isoformat()}], **common,
        ))
        await conn.execute(sa.insert(kernels).values(
            id=sid, session_id=sid, session_name=name, cluster_role="main", cluster_idx=1,
            cluster_hostname="main1", scaling_group="default", agent=agent, image=image,
            registry="cr.backend.ai", requested_slots=occupied, occupied_slots=occupied if agent else ResourceSlot(),
            status=status, status_changed=now, service_ports=[{"name": "http-server", "protocol": "http",
                                                              "container_ports": [8090], "host_ports": [30000]}],
            **common,
        ))
    return sid
