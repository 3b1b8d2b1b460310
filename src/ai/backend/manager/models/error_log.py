"""Error logs: client- and server-reported errors that admins review (/logs/error)."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import EnumValueType, IDColumn, created_at_column, metadata


class ErrorLogSeverity(enum.StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"


error_logs = sa.Table(
    "error_logs", metadata,
    IDColumn(),
    created_at_column(),
    sa.Column("severity", EnumValueType(ErrorLogSeverity), nullable=False, index=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("user", sa.Uuid(), sa.ForeignKey("users.uuid", ondelete="SET NULL"), nullable=True, index=True),
    sa.Column("is_read", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    sa.Column("is_cleared", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("context_lang", sa.String(32), nullable=False),
    sa.Column("context_env", pg.JSONB, nullable=False),
    sa.Column("request_url", sa.String(512)),
    sa.Column("request_status", sa.Integer),
    sa.Column("traceback", sa.Text),
)
