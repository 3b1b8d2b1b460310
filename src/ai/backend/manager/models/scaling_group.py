"""Scaling groups (resource groups): agent partitions with their own scheduler, and the
associations that decide which domains, projects and keypairs may use them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import created_at_column, empty_json, metadata

scaling_groups = sa.Table(
    "scaling_groups", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("description", sa.String(512)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(), index=True),
    sa.Column("is_public", sa.Boolean, nullable=False, server_default=sa.true()),
    created_at_column(),
    sa.Column("wsproxy_addr", sa.String(1024)),
    sa.Column("wsproxy_api_token", sa.String(128)),
    sa.Column("driver", sa.String(64), nullable=False, server_default="static"),
    sa.Column("driver_opts", pg.JSONB, nullable=False, server_default=empty_json()),
    # A sequencer name from the scheduler plug-ins (fifo, lifo, drf) and its options.
    sa.Column("scheduler", sa.String(64), nullable=False, server_default="fifo"),
    sa.Column("scheduler_opts", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("use_host_network", sa.Boolean, nullable=False, server_default=sa.false()),
)

sgroups_for_domains = sa.Table(
    "sgroups_for_domains", metadata,
    sa.Column("scaling_group", sa.String(64),
              sa.ForeignKey("scaling_groups.name", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False),
    sa.Column("domain", sa.String(64),
              sa.ForeignKey("domains.name", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.PrimaryKeyConstraint("scaling_group", "domain"),
)

sgroups_for_groups = sa.Table(
    "sgroups_for_groups", metadata,
    sa.Column("scaling_group", sa.String(64),
              sa.ForeignKey("scaling_groups.name", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False),
    sa.Column("group", sa.Uuid(),
              sa.ForeignKey("groups.id", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.PrimaryKeyConstraint("scaling_group", "group"),
)

sgroups_for_keypairs = sa.Table(
    "sgroups_for_keypairs", metadata,
    sa.Column("scaling_group", sa.String(64),
              sa.ForeignKey("scaling_groups.name", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False),
    sa.Column("access_key", sa.String(20),
              sa.ForeignKey("keypairs.access_key", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.PrimaryKeyConstraint("scaling_group", "access_key"),
)
