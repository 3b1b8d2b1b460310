"""Agents as the admin API shows them: rows from PostgreSQL, occupancy derived from live
kernels, live statistics from Redis (written by the agents under their id in the stat DB)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
import sqlalchemy as sa

from ai.backend.common import msgpack
from ai.backend.common.status import AgentStatus

from ..errors import InvalidAPIParameters
from ..models import agents


def parse_statuses(value: str | None) -> list[AgentStatus] | None:
    if not value:
        return None
    out = []
    for part in value.split(","):
        try:
            out.append(AgentStatus(part.strip().upper()))
        except ValueError:
            raise InvalidAPIParameters(
                f"unknown agent status {part!r} (one of {', '.join(s.value for s in AgentStatus)})") from None
    return out


def select_agents(*, statuses: list[AgentStatus] | None = None, scaling_group: str | None = None,
                  agent_id: str | None = None) -> sa.Select[Any]:
    query = sa.select(agents)
    if statuses:
        query = query.where(agents.c.status.in_(statuses))
    if scaling_group is not None:
        query = query.where(agents.c.scaling_group == scaling_group)
    if agent_id is not None:
        query = query.where(agents.c.id == agent_id)
    return query


def _decode_stat(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        value = msgpack.unpackb(raw)
    except Exception:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
    return value if isinstance(value, dict) else None


def normalize_live_stat(stat: dict[str, Any] | None) -> dict[str, Any] | None:
    """The API's shape, {"node": {metric: {...}}, "devices": {...}}.

    Our agents publish node metrics flat ({metric: {"current", "capacity", "unit_hint"},
    "last_updated": ts}); the official client expects them under "node", cpu_util with "pct".
    """
    if stat is None or "node" in stat:
        return stat
    node = {k: dict(v) for k, v in stat.items() if isinstance(v, dict)}
    if "cpu_util" in node:
        node["cpu_util"].setdefault("pct", node["cpu_util"].get("current"))
    return {"node": node, "devices": {k: {} for k in node}}


async def live_stats(redis_stat: aioredis.Redis, agent_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    if not agent_ids:
        return {}
    raws = await redis_stat.mget(agent_ids)
    return {aid: normalize_live_stat(_decode_stat(raw)) for aid, raw in zip(agent_ids, raws, strict=True)}


def cpu_pct(stat: dict[str, Any] | None) -> float | None:
    try:
        return float(stat["node"]["cpu_util"]["pct"]) if stat else None  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


def mem_bytes(stat: dict[str, Any] | None) -> float | None:
    try:
        return float(stat["node"]["mem"]["current"]) if stat else None  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None

