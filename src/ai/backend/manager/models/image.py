"""Kernel images known to the cluster, their aliases, and container registries."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import EnumValueType, IDColumn, created_at_column, empty_json, metadata


class ImageType(enum.StrEnum):
    COMPUTE = "compute"
    SYSTEM = "system"
    SERVICE = "service"


images = sa.Table(
    "images", metadata,
    IDColumn(),
    # The canonical reference: "cr.backend.ai/stable/python:3.11-debian12".
    sa.Column("name", sa.String(512), nullable=False, index=True),
    sa.Column("image", sa.String(512), nullable=False),      # "stable/python"
    sa.Column("tag", sa.String(128), nullable=False),
    sa.Column("registry", sa.String(512), nullable=False, index=True),
    sa.Column("architecture", sa.String(32), nullable=False, server_default="x86_64"),
    sa.Column("config_digest", sa.String(128), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("type", EnumValueType(ImageType), nullable=False, server_default=ImageType.COMPUTE.value),
    sa.Column("accelerators", sa.String(256)),
    sa.Column("labels", pg.JSONB, nullable=False, server_default=empty_json()),
    # {slot: {"min": "1", "max": null}} from the ai.backend.resource.min.* labels.
    sa.Column("resources", pg.JSONB, nullable=False, server_default=empty_json()),
    created_at_column(),
    sa.UniqueConstraint("name", "architecture"),
)

image_aliases = sa.Table(
    "image_aliases", metadata,
    IDColumn(),
    sa.Column("alias", sa.String(256), nullable=False, unique=True),
    sa.Column("image", sa.Uuid(),
              sa.ForeignKey("images.id", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
)

container_registries = sa.Table(
    "container_registries", metadata,
    IDColumn(),
    sa.Column("url", sa.String(512), nullable=False),
    sa.Column("registry_name", sa.String(50), nullable=False, index=True),
    sa.Column("type", sa.String(32), nullable=False, server_default="docker"),
    sa.Column("project", sa.String(255)),
    sa.Column("username", sa.String(255)),
    sa.Column("password", sa.String(255)),
    sa.Column("ssl_verify", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("is_global", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint("registry_name", "project"),
)
