"""Projects (called groups in the API) and their user membership."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import (
    EnumValueType,
    IDColumn,
    ResourceSlotColumn,
    created_at_column,
    empty_json,
    metadata,
    modified_at_column,
)


class ProjectType(enum.StrEnum):
    GENERAL = "general"
    MODEL_STORE = "model-store"


groups = sa.Table(
    "groups", metadata,
    IDColumn(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(512)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    created_at_column(),
    modified_at_column(),
    sa.Column("integration_id", sa.String(512)),
    sa.Column("domain_name", sa.String(64),
              sa.ForeignKey("domains.name", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("total_resource_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    sa.Column("allowed_vfolder_hosts", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("resource_policy", sa.String(256),
              sa.ForeignKey("project_resource_policies.name"), nullable=True),
    sa.Column("type", EnumValueType(ProjectType), nullable=False, server_default=ProjectType.GENERAL.value),
    sa.Column("container_registry", pg.JSONB),
    sa.UniqueConstraint("name", "domain_name"),
)

association_groups_users = sa.Table(
    "association_groups_users", metadata,
    sa.Column("user_id", sa.Uuid(),
              sa.ForeignKey("users.uuid", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.Column("group_id", sa.Uuid(),
              sa.ForeignKey("groups.id", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.PrimaryKeyConstraint("user_id", "group_id"),
    sa.Index("ix_association_groups_users_group_id", "group_id"),
)
