"""Resource presets: named slot bundles users pick when they create sessions."""

from __future__ import annotations

import sqlalchemy as sa

from .base import IDColumn, ResourceSlotColumn, metadata

resource_presets = sa.Table(
    "resource_presets", metadata,
    IDColumn(),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("resource_slots", ResourceSlotColumn(), nullable=False),
    sa.Column("shared_memory", sa.BigInteger, nullable=True),
    # NULL: a global preset; otherwise visible only in that resource group.
    sa.Column("scaling_group_name", sa.String(64),
              sa.ForeignKey("scaling_groups.name", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=True),
    sa.Index("ix_resource_presets_name_global", "name", unique=True,
             postgresql_where=sa.text("scaling_group_name IS NULL")),
    sa.UniqueConstraint("name", "scaling_group_name"),
)
