"""Session templates: stored creation parameters users can start sessions from."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import EnumValueType, IDColumn, created_at_column, metadata


class TemplateType(enum.StrEnum):
    TASK = "task"
    CLUSTER = "cluster"


session_templates = sa.Table(
    "session_templates", metadata,
    IDColumn(),
    created_at_column(),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(), index=True),
    sa.Column("domain_name", sa.String(64),
              sa.ForeignKey("domains.name", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.Column("group_id", sa.Uuid(),
              sa.ForeignKey("groups.id", onupdate="CASCADE", ondelete="CASCADE"), nullable=True),
    sa.Column("user_uuid", sa.Uuid(),
              sa.ForeignKey("users.uuid", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("type", EnumValueType(TemplateType), nullable=False,
              server_default=TemplateType.TASK.value, index=True),
    sa.Column("name", sa.String(128), nullable=True),
    sa.Column("template", pg.JSONB, nullable=False),
)
