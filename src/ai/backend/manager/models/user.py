"""Users: an account with a role in one domain; its keypairs authenticate API calls."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import EnumValueType, IDColumn, created_at_column, metadata, modified_at_column


class UserRole(enum.StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"          # a domain admin
    USER = "user"
    MONITOR = "monitor"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"
    BEFORE_VERIFICATION = "before-verification"


users = sa.Table(
    "users", metadata,
    IDColumn("uuid"),
    sa.Column("username", sa.String(64), unique=True),
    sa.Column("email", sa.String(64), nullable=False, unique=True),
    sa.Column("password", sa.String(128)),      # a bcrypt hash, never the password
    sa.Column("need_password_change", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("password_changed_at", sa.DateTime(timezone=True)),
    sa.Column("full_name", sa.String(64)),
    sa.Column("description", sa.String(500)),
    sa.Column("status", EnumValueType(UserStatus), nullable=False, server_default=UserStatus.ACTIVE.value),
    sa.Column("status_info", sa.Unicode(64)),
    created_at_column(),
    modified_at_column(),
    sa.Column("domain_name", sa.String(64),
              sa.ForeignKey("domains.name", onupdate="CASCADE"), nullable=False, index=True),
    sa.Column("role", EnumValueType(UserRole), nullable=False, server_default=UserRole.USER.value),
    sa.Column("allowed_client_ip", pg.ARRAY(sa.String(64))),
    sa.Column("totp_key", sa.String(32)),
    sa.Column("totp_activated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("totp_activated_at", sa.DateTime(timezone=True)),
    sa.Column("resource_policy", sa.String(256),
              sa.ForeignKey("user_resource_policies.name"), nullable=True),
    sa.Column("sudo_session_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # The keypair used when the user logs in with a password. users and keypairs refer to
    # each other, so this check is deferred to commit: both rows can go in one transaction.
    sa.Column("main_access_key", sa.String(20),
              sa.ForeignKey("keypairs.access_key", ondelete="SET NULL", use_alter=True,
                            deferrable=True, initially="DEFERRED"),
              nullable=True),
)
