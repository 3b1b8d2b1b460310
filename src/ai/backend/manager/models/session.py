"""Compute sessions: what users create; one or more kernels (containers) run each.

The status columns follow the lifecycle in common.status. status_info is a short reason and
status_data holds the structured detail (e.g. which predicate kept a session PENDING);
status_history is a list of {"status", "timestamp"} entries appended on every transition.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ai.backend.common.status import ClusterMode, SessionResult, SessionStatus, SessionTypes

from .base import (
    EnumValueType,
    IDColumn,
    ResourceSlotColumn,
    created_at_column,
    empty_json,
    empty_json_list,
    metadata,
)

sessions = sa.Table(
    "sessions", metadata,
    IDColumn(),
    sa.Column("creation_id", sa.String(32)),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("session_type", EnumValueType(SessionTypes), nullable=False,
              server_default=SessionTypes.INTERACTIVE.value, index=True),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cluster_mode", EnumValueType(ClusterMode), nullable=False,
              server_default=ClusterMode.SINGLE_NODE.value),
    sa.Column("cluster_size", sa.Integer, nullable=False, server_default="1"),
    sa.Column("agent_ids", pg.ARRAY(sa.String(64))),
    # ownership
    sa.Column("domain_name", sa.String(64), sa.ForeignKey("domains.name"), nullable=False, index=True),
    sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id"), nullable=False, index=True),
    sa.Column("user_uuid", sa.Uuid(), sa.ForeignKey("users.uuid"), nullable=False, index=True),
    sa.Column("access_key", sa.String(20), sa.ForeignKey("keypairs.access_key"), index=True),
    # what runs
    sa.Column("images", pg.ARRAY(sa.String(512))),
    sa.Column("tag", sa.String(64)),
    sa.Column("scaling_group_name", sa.String(64), sa.ForeignKey("scaling_groups.name"), index=True),
    sa.Column("target_sgroup_names", pg.ARRAY(sa.String(64))),
    # resources: requested at creation; occupying = the sum of the kernels' allocations
    sa.Column("requested_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("occupying_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("vfolder_mounts", pg.JSONB),
    sa.Column("environ", pg.JSONB),
    sa.Column("bootstrap_script", sa.Text),
    sa.Column("startup_command", sa.Text),
    sa.Column("callback_url", sa.String(2048)),
    sa.Column("use_host_network", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("timeout", sa.BigInteger),            # batch session timeout in seconds
    # timestamps
    created_at_column(),
    sa.Column("terminated_at", sa.DateTime(timezone=True), index=True),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    # status
    sa.Column("status", EnumValueType(SessionStatus), nullable=False,
              server_default=SessionStatus.PENDING.value, index=True),
    sa.Column("status_changed", sa.DateTime(timezone=True), index=True),
    sa.Column("status_info", sa.Unicode(256)),
    sa.Column("status_data", pg.JSONB),
    sa.Column("status_history", pg.JSONB, nullable=False, server_default=empty_json_list()),
    sa.Column("result", EnumValueType(SessionResult), nullable=False,
              server_default=SessionResult.UNDEFINED.value),
    # statistics
    sa.Column("num_queries", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_stat", pg.JSONB),
)

# Pipelines: a session waits for the sessions it depends on to succeed.
session_dependencies = sa.Table(
    "session_dependencies", metadata,
    sa.Column("session_id", sa.Uuid(),
              sa.ForeignKey("sessions.id", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.Column("depends_on", sa.Uuid(),
              sa.ForeignKey("sessions.id", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.PrimaryKeyConstraint("session_id", "depends_on"),
)
