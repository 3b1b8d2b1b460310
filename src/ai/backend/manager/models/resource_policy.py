"""Resource policies for keypairs, users and projects: slot totals, session and folder limits."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import EnumValueType, ResourceSlotColumn, created_at_column, empty_json, metadata


class DefaultForUnspecified(enum.StrEnum):
    """How slots missing from total_resource_slots count: unlimited, or zero."""

    LIMITED = "LIMITED"
    UNLIMITED = "UNLIMITED"


keypair_resource_policies = sa.Table(
    "keypair_resource_policies", metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    created_at_column(),
    sa.Column("default_for_unspecified", EnumValueType(DefaultForUnspecified), nullable=False,
              server_default=DefaultForUnspecified.UNLIMITED.value),
    sa.Column("total_resource_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("max_session_lifetime", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_concurrent_sessions", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_concurrent_sftp_sessions", sa.Integer, nullable=False, server_default="1"),
    sa.Column("max_containers_per_session", sa.Integer, nullable=False, server_default="1"),
    sa.Column("idle_timeout", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_pending_session_count", sa.Integer),
    sa.Column("allowed_vfolder_hosts", pg.JSONB, nullable=False, server_default=empty_json()),
    # Kept for old clients; user/project policies hold the folder limits now.
    sa.Column("max_vfolder_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_vfolder_size", sa.BigInteger, nullable=False, server_default="0"),
)

user_resource_policies = sa.Table(
    "user_resource_policies", metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    created_at_column(),
    sa.Column("total_resource_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("max_vfolder_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_quota_scope_size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_session_count_per_model_session", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_customized_image_count", sa.Integer, nullable=False, server_default="3"),
)

project_resource_policies = sa.Table(
    "project_resource_policies", metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    created_at_column(),
    sa.Column("max_vfolder_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_quota_scope_size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_network_count", sa.Integer, nullable=False, server_default="0"),
)
