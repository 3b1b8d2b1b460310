"""Kernels: the containers of a session, each placed on one agent.

occupied_slots is the allocation the scheduler decided; an agent's occupancy is the sum of
these over its kernels in a resource-occupying status (common.status).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ai.backend.common.status import ClusterMode, KernelStatus, SessionResult, SessionTypes

from .base import (
    EnumValueType,
    IDColumn,
    ResourceSlotColumn,
    created_at_column,
    empty_json,
    empty_json_list,
    metadata,
)

kernels = sa.Table(
    "kernels", metadata,
    IDColumn(),
    sa.Column("session_id", sa.Uuid(),
              sa.ForeignKey("sessions.id", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("session_creation_id", sa.String(32)),
    sa.Column("session_name", sa.String(64), index=True),
    sa.Column("session_type", EnumValueType(SessionTypes), nullable=False,
              server_default=SessionTypes.INTERACTIVE.value),
    # cluster placement
    sa.Column("cluster_mode", EnumValueType(ClusterMode), nullable=False,
              server_default=ClusterMode.SINGLE_NODE.value),
    sa.Column("cluster_size", sa.Integer, nullable=False, server_default="1"),
    sa.Column("cluster_role", sa.String(16), nullable=False, server_default="main"),
    sa.Column("cluster_idx", sa.Integer, nullable=False, server_default="1"),
    sa.Column("local_rank", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cluster_hostname", sa.String(64), nullable=False, server_default="main1"),
    sa.Column("uid", sa.Integer),
    sa.Column("main_gid", sa.Integer),
    sa.Column("gids", pg.ARRAY(sa.Integer)),
    # ownership
    sa.Column("domain_name", sa.String(64), sa.ForeignKey("domains.name"), nullable=False),
    sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("user_uuid", sa.Uuid(), sa.ForeignKey("users.uuid"), nullable=False),
    sa.Column("access_key", sa.String(20), sa.ForeignKey("keypairs.access_key"), index=True),
    # where and what
    sa.Column("scaling_group", sa.String(64), sa.ForeignKey("scaling_groups.name"), index=True),
    sa.Column("agent", sa.String(64), sa.ForeignKey("agents.id"), nullable=True, index=True),
    sa.Column("agent_addr", sa.String(128)),
    sa.Column("image", sa.String(512)),
    sa.Column("architecture", sa.String(32), nullable=False, server_default="x86_64"),
    sa.Column("registry", sa.String(512)),
    sa.Column("tag", sa.String(64)),
    sa.Column("container_id", sa.String(64)),
    # resources
    sa.Column("requested_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("occupied_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("occupied_shares", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("attached_devices", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("resource_opts", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("environ", pg.ARRAY(sa.String)),
    sa.Column("mounts", pg.ARRAY(sa.String)),
    sa.Column("mount_map", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("vfolder_mounts", pg.JSONB),
    sa.Column("bootstrap_script", sa.Text),
    sa.Column("startup_command", sa.Text),
    sa.Column("callback_url", sa.String(2048)),
    # networking: where the kernel runner and the service ports are reachable
    sa.Column("kernel_host", sa.String(128)),
    sa.Column("repl_in_port", sa.Integer),
    sa.Column("repl_out_port", sa.Integer),
    sa.Column("stdin_port", sa.Integer),
    sa.Column("stdout_port", sa.Integer),
    sa.Column("service_ports", pg.JSONB),
    sa.Column("preopen_ports", pg.ARRAY(sa.Integer)),
    sa.Column("use_host_network", sa.Boolean, nullable=False, server_default=sa.false()),
    # timestamps
    created_at_column(),
    sa.Column("terminated_at", sa.DateTime(timezone=True), index=True),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    # status
    sa.Column("status", EnumValueType(KernelStatus), nullable=False,
              server_default=KernelStatus.PENDING.value, index=True),
    sa.Column("status_changed", sa.DateTime(timezone=True), index=True),
    sa.Column("status_info", sa.Unicode(256)),
    sa.Column("status_data", pg.JSONB),
    sa.Column("status_history", pg.JSONB, nullable=False, server_default=empty_json_list()),
    sa.Column("result", EnumValueType(SessionResult), nullable=False,
              server_default=SessionResult.UNDEFINED.value),
    sa.Column("exit_code", sa.Integer),
    sa.Column("internal_data", pg.JSONB),
    sa.Column("container_log", sa.LargeBinary),
    # statistics
    sa.Column("num_queries", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_stat", pg.JSONB),
    sa.Index("ix_kernels_agent_status", "agent", "status"),
)
