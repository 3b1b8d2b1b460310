"""Kernel images: canonical references, lookups by name or alias, aliases, registration.

A canonical reference is "REGISTRY/PATH:TAG" (cr.backend.ai/stable/python:3.11-debian12).
Images are registered per architecture; an alias names one canonical reference.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.types import BinarySize

from ..errors import InvalidAPIParameters, ObjectNotFound
from ..models import ImageType, image_aliases, images
from .common import integrity_as_conflict

DEFAULT_REGISTRY = "index.docker.io"
DEFAULT_ARCH = "x86_64"
_ARCH_ALIASES = {"amd64": "x86_64", "x86-64": "x86_64", "arm64": "aarch64", "arm64/v8": "aarch64"}
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


def normalize_arch(value: str | None) -> str:
    if not value:
        return DEFAULT_ARCH
    return _ARCH_ALIASES.get(value.lower(), value.lower())


@dataclass(frozen=True)
class ImageRef:
    registry: str
    path: str           # "stable/python"
    tag: str

    @property
    def canonical(self) -> str:
        return f"{self.registry}/{self.path}:{self.tag}"

    @property
    def short(self) -> str:
        return f"{self.path}:{self.tag}"


def parse_ref(ref: str) -> ImageRef:
    """Split a reference; a missing registry means Docker Hub, a missing tag "latest"."""
    ref = ref.strip()
    if not ref or any(c.isspace() for c in ref):
        raise InvalidAPIParameters(f"invalid image reference: {ref!r}")
    if "@" in ref:
        ref = ref.split("@", 1)[0]
    name, tag = ref, "latest"
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    if not _TAG_RE.match(tag):
        raise InvalidAPIParameters(f"invalid image tag in {ref!r}")
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], "/".join(parts[1:])
    else:
        registry, path = DEFAULT_REGISTRY, name if len(parts) > 1 else f"library/{name}"
    if not path:
        raise InvalidAPIParameters(f"invalid image reference: {ref!r}")
    return ImageRef(registry, path, tag)


@dataclass
class ImageRecord:
    """What a scan found, ready to upsert."""

    ref: ImageRef
    architecture: str
    config_digest: str
    size_bytes: int
    labels: dict[str, str]
    type: ImageType = ImageType.COMPUTE
    resources: dict[str, dict[str, str | None]] = field(default_factory=dict)

    @classmethod
    def from_labels(cls, ref: ImageRef, *, architecture: str, digest: str, size: int,
                    labels: Mapping[str, str]) -> ImageRecord:
        resources: dict[str, dict[str, str | None]] = {}
        for key, value in labels.items():
            if key.startswith("ai.backend.resource.min."):
                slot = key[len("ai.backend.resource.min."):]
                amount = str(int(BinarySize.from_str(value))) if slot == "mem" else str(value)
                resources.setdefault(slot, {"min": None, "max": None})["min"] = amount
            elif key.startswith("ai.backend.resource.max."):
                slot = key[len("ai.backend.resource.max."):]
                amount = str(int(BinarySize.from_str(value))) if slot == "mem" else str(value)
                resources.setdefault(slot, {"min": None, "max": None})["max"] = amount
        role = labels.get("ai.backend.role", "COMPUTE").upper()
        itype = {"INFERENCE": ImageType.SERVICE, "SYSTEM": ImageType.SYSTEM}.get(role, ImageType.COMPUTE)
        return cls(ref, normalize_arch(architecture), digest, int(size), dict(labels), itype, resources)


def is_kernel_image(labels: Mapping[str, str] | None) -> bool:
    return bool(labels) and "ai.backend.kernelspec" in labels  # type: ignore[operator]


def service_ports(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Parse ai.backend.service-ports ("name:proto:port[,...]"); bad entries are skipped."""
    out: list[dict[str, Any]] = []
    for item in (labels.get("ai.backend.service-ports") or "").split(","):
        parts = item.strip().split(":")
        if len(parts) != 3:
            continue
        name, proto, port = parts
        try:
            ports = [int(p) for p in port.strip("[]").split("+") if p]
        except ValueError:
            continue
        out.append({"name": name, "protocol": proto, "container_ports": ports})
    return out


async def upsert(conn: AsyncConnection, records: Iterable[ImageRecord]) -> tuple[int, int]:
    """Insert new images and refresh known ones; returns (added, updated)."""
    added = updated = 0
    for rec in records:
        values = {
            "name": rec.ref.canonical, "image": rec.ref.path, "tag": rec.ref.tag, "registry": rec.ref.registry,
            "architecture": rec.architecture, "config_digest": rec.config_digest, "size_bytes": rec.size_bytes,
            "type": rec.type, "labels": rec.labels, "resources": rec.resources,
            "accelerators": rec.labels.get("ai.backend.accelerators"),
        }
        base = insert(images).values(id=uuid.uuid4(), **values)
        stmt: Any = base.on_conflict_do_update(
            index_elements=[images.c.name, images.c.architecture],
            set_={k: base.excluded[k] for k in values if k not in ("name", "architecture")},
        ).returning(sa.literal_column("(xmax = 0)").label("inserted"))
        if (await conn.execute(stmt)).scalar_one():
            added += 1
        else:
            updated += 1
    return added, updated


def select_images(*, registries: list[str] | None = None) -> sa.Select[Any]:
    query = sa.select(images)
    if registries is not None:
        query = query.where(images.c.registry.in_(registries))
    return query.order_by(images.c.name, images.c.architecture)


async def aliases_of(conn: AsyncConnection, image_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = (await conn.execute(sa.select(image_aliases.c.image, image_aliases.c.alias)
                               .where(image_aliases.c.image.in_(image_ids)).order_by(image_aliases.c.alias))).all()
    out: dict[uuid.UUID, list[str]] = {i: [] for i in image_ids}
    for row in rows:
        out[row.image].append(row.alias)
    return out


async def resolve(conn: AsyncConnection, reference: str, architecture: str | None = None) -> Any:
    """An image row by alias or canonical reference (short "path:tag" forms too)."""
    arch = normalize_arch(architecture)
    row = (await conn.execute(
        sa.select(images).select_from(images.join(image_aliases, image_aliases.c.image == images.c.id))
        .where(image_aliases.c.alias == reference)
    )).first()
    if row is not None and row.architecture == arch:
        return row
    if row is not None:  # an alias names one canonical reference; find it for this architecture
        reference = row.name
    candidates = [reference]
    try:
        candidates.append(parse_ref(reference).canonical)
    except InvalidAPIParameters:
        pass
    rows = (await conn.execute(sa.select(images).where(
        images.c.name.in_(candidates) & (images.c.architecture == arch)))).all()
    if not rows and "/" in reference and "." not in reference.split("/", 1)[0]:
        rows = (await conn.execute(sa.select(images).where(
            (sa.func.concat(images.c.image, ":", images.c.tag) == reference) & (images.c.architecture == arch)))).all()
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise InvalidAPIParameters(f"image reference {reference!r} is ambiguous; use the full name")
    raise ObjectNotFound(f"unknown image {reference!r} ({arch})")


async def alias(conn: AsyncConnection, alias_name: str, target: str, architecture: str | None = None) -> None:
    if not alias_name or any(c.isspace() for c in alias_name):
        raise InvalidAPIParameters(f"invalid alias: {alias_name!r}")
    row = await resolve(conn, target, architecture)
    stmt = insert(image_aliases).values(id=uuid.uuid4(), alias=alias_name, image=row.id)
    async with integrity_as_conflict(f"alias {alias_name!r}"):
        await conn.execute(stmt.on_conflict_do_update(index_elements=[image_aliases.c.alias],
                                                      set_={"image": row.id}))


async def dealias(conn: AsyncConnection, alias_name: str) -> None:
    result = await conn.execute(sa.delete(image_aliases).where(image_aliases.c.alias == alias_name))
    if result.rowcount == 0:
        raise ObjectNotFound(f"no alias {alias_name!r}")


async def forget(conn: AsyncConnection, reference: str, architecture: str | None = None) -> None:
    row = await resolve(conn, reference, architecture)
    await conn.execute(sa.delete(images).where(images.c.id == row.id))
