"""Domains: the top-level tenants; users and projects (groups) belong to exactly one."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import ResourceSlotColumn, created_at_column, empty_json, metadata, modified_at_column

domains = sa.Table(
    "domains", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("description", sa.String(512)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    created_at_column(),
    modified_at_column(),
    # Slots missing from the mapping are unlimited.
    sa.Column("total_resource_slots", ResourceSlotColumn(), nullable=False, server_default=empty_json()),
    # {volume host: [permission, ...]} as the install guide shows.
    sa.Column("allowed_vfolder_hosts", pg.JSONB, nullable=False, server_default=empty_json()),
    sa.Column("allowed_docker_registries", pg.ARRAY(sa.String), nullable=False, server_default="{}"),
    sa.Column("integration_id", sa.String(512)),
)
