"""Helpers for the session API tests: a registered kernel image, row/event inspection, and a
stand-in for the scheduler's "session started" transition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common import msgpack
from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
from ai.backend.common.status import SessionStatus
from ai.backend.common.types import HostPortPair
from ai.backend.manager.models import kernels, session_dependencies, sessions
from ai.backend.manager.services import images as image_service

IMAGE = "cr.backend.ai/stable/python:3.11-debian12"
OTHER_IMAGE = "cr.backend.ai/stable/python:3.12-debian12"
LABELS = {
    "ai.backend.kernelspec": "1", "ai.backend.features": "query batch uid-match",
    "ai.backend.resource.min.cpu": "1", "ai.backend.resource.min.mem": "256m",
    "ai.backend.runtime-type": "python", "ai.backend.runtime-path": "/usr/bin/python3",
    "ai.backend.service-ports": "http-server:http:8090",
}


async def register_images(db: AsyncEngine) -> None:
    """The kernel image (aliased "python") and a second one, as a rescan would register them."""
    records = [image_service.ImageRecord.from_labels(image_service.parse_ref(ref), architecture="x86_64",
                                                     digest=f"sha256:{i}" * 8, size=1000, labels=LABELS)
               for i, ref in enumerate((IMAGE, OTHER_IMAGE))]
    async with db.begin() as conn:
        await image_service.upsert(conn, records)
        await image_service.alias(conn, "python", IMAGE)
        await image_service.alias(conn, "python3.12", OTHER_IMAGE)


async def session_rows(db: AsyncEngine, **where: Any) -> list[Any]:
    query = sa.select(sessions).order_by(sessions.c.created_at)
    for k, v in where.items():
        query = query.where(sessions.c[k] == v)
    async with db.connect() as conn:
        return list((await conn.execute(query)).all())


async def kernel_rows(db: AsyncEngine, session_id: uuid.UUID) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(sa.select(kernels).where(kernels.c.session_id == session_id)
                                        .order_by(kernels.c.local_rank))).all())


async def dependency_rows(db: AsyncEngine, session_id: uuid.UUID) -> list[uuid.UUID]:
    async with db.connect() as conn:
        return list((await conn.execute(sa.select(session_dependencies.c.depends_on)
                                        .where(session_dependencies.c.session_id == session_id))).scalars())


async def count_rows(db: AsyncEngine) -> tuple[int, int]:
    async with db.connect() as conn:
        s = (await conn.execute(sa.select(sa.func.count()).select_from(sessions))).scalar_one()
        k = (await conn.execute(sa.select(sa.func.count()).select_from(kernels))).scalar_one()
    return int(s), int(k)


async def stream_events(etcd_redis_addr: HostPortPair, stream_key: str) -> list[tuple[str, dict[str, Any]]]:
    """The (name, args) of every anycast event on the test's private stream."""
    redis = connect(etcd_redis_addr, db=REDIS_STREAM_DB)
    try:
        entries: Any = await redis.xrange(stream_key)
    finally:
        await redis.aclose()
    return [(f[b"name"].decode(), msgpack.unpackb(f[b"args"])) for _, f in entries]


async def mark_running(db: AsyncEngine, session_id: uuid.UUID, *, agent_addr: str = "tcp://127.0.0.1:1",
                       service_ports: list[dict[str, Any]] | None = None) -> None:
    """What the scheduler writes when the agent reports the kernels started (no real agent)."""
    now = datetime.now(UTC)
    async with db.begin() as conn:
        await conn.execute(sa.update(kernels).where(kernels.c.session_id == session_id).values(
            status=SessionStatus.RUNNING, status_changed=now, agent_addr=agent_addr,
            service_ports=service_ports or []))
        await conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(
            status=SessionStatus.RUNNING, status_changed=now))


# What the official client 23.9 sends for `run`/`start` (enqueueOnly here; tests change what they need).
V7_BODY: dict[str, Any] = {
    "tag": None, "name": "mysess", "config": {"mounts": [], "environ": {}, "resources": {}, "resource_opts": {},
                                             "scalingGroup": None, "mount_map": {}, "preopen_ports": []},
    "dependencies": None, "callback_url": None, "architecture": "x86_64", "clusterSize": 1,
    "clusterMode": "single-node", "starts_at": None, "bootstrap_script": None, "owner_access_key": None,
    "domain": "default", "group": "default", "type": "interactive", "enqueueOnly": True, "maxWaitSeconds": 0,
    "reuseIfExists": True, "startupCommand": None, "image": "python",
}


def body(**changes: Any) -> dict[str, Any]:
    """V7_BODY with changes; "config_X" keys change config["X"]."""
    b = {**V7_BODY, "config": dict(V7_BODY["config"])}
    for k, v in changes.items():
        if k.startswith("config_"):
            b["config"][k[len("config_"):]] = v
        else:
            b[k] = v
    return b
