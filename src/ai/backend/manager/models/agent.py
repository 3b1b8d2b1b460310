"""Agents: the nodes that run kernels. Their occupied slots are never stored here: they are
derived from the allocations of the agent's live kernels (see services.agents)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ai.backend.common.status import AgentStatus

from .base import EnumValueType, ResourceSlotColumn, empty_json, metadata

agents = sa.Table(
    "agents", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", EnumValueType(AgentStatus), nullable=False, index=True),
    sa.Column("status_changed", sa.DateTime(timezone=True)),
    sa.Column("region", sa.String(64), nullable=False, server_default="local", index=True),
    sa.Column("scaling_group", sa.String(64),
              sa.ForeignKey("scaling_groups.name", onupdate="CASCADE"),
              nullable=False, server_default="default", index=True),
    sa.Column("schedulable", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("available_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    # {slot name: "count" | "bytes" | "unique"} as the agent reports them.
    sa.Column("resource_slot_types", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("addr", sa.String(128), nullable=False),
    sa.Column("public_host", sa.String(256)),
    sa.Column("first_contact", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("lost_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.String(64), nullable=False, server_default=""),
    sa.Column("architecture", sa.String(32), nullable=False, server_default="x86_64"),
    sa.Column("compute_plugins", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("auto_terminate_abusing_kernel", sa.Boolean, nullable=False, server_default=sa.false()),
)
