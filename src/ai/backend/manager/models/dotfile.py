"""Dotfiles: files written into new sessions' home directories, owned by a keypair (user
scope), a project or a domain. Exactly one owner column is set, per `scope`."""

from __future__ import annotations

import enum

import sqlalchemy as sa

from .base import EnumValueType, IDColumn, created_at_column, metadata, modified_at_column


class DotfileScope(enum.StrEnum):
    USER = "user"
    GROUP = "group"
    DOMAIN = "domain"


dotfiles = sa.Table(
    "dotfiles", metadata,
    IDColumn(),
    sa.Column("scope", EnumValueType(DotfileScope), nullable=False),
    sa.Column("access_key", sa.String(20),
              sa.ForeignKey("keypairs.access_key", onupdate="CASCADE", ondelete="CASCADE")),
    sa.Column("group_id", sa.Uuid(),
              sa.ForeignKey("groups.id", onupdate="CASCADE", ondelete="CASCADE")),
    sa.Column("domain_name", sa.String(64),
              sa.ForeignKey("domains.name", onupdate="CASCADE", ondelete="CASCADE")),
    sa.Column("path", sa.String(256), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("permission", sa.String(4), nullable=False, server_default="644"),   # octal
    created_at_column(),
    modified_at_column(),
    sa.CheckConstraint(
        "(scope = 'user' AND access_key IS NOT NULL AND group_id IS NULL AND domain_name IS NULL) OR "
        "(scope = 'group' AND group_id IS NOT NULL AND access_key IS NULL AND domain_name IS NULL) OR "
        "(scope = 'domain' AND domain_name IS NOT NULL AND access_key IS NULL AND group_id IS NULL)",
        name="one_owner_per_scope",
    ),
    sa.Index("ix_dotfiles_user_path", "access_key", "path", unique=True,
             postgresql_where=sa.text("scope = 'user'")),
    sa.Index("ix_dotfiles_group_path", "group_id", "path", unique=True,
             postgresql_where=sa.text("scope = 'group'")),
    sa.Index("ix_dotfiles_domain_path", "domain_name", "path", unique=True,
             postgresql_where=sa.text("scope = 'domain'")),
)
