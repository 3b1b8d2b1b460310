"""Raw etcd access for superadmins (/config/get|set|delete, `mgr etcd`) and the resource
slot catalog built from etcd and the agents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.status import AgentStatus
from ai.backend.common.types import SlotTypes

from ..config import SharedConfig
from ..errors import InvalidAPIParameters
from ..models import agents

_INTRINSIC_DETAILS: dict[str, dict[str, Any]] = {
    "cpu": {"slot_name": "cpu", "description": "CPU", "human_readable_name": "CPU",
            "display_unit": "Core", "number_format": {"binary": False, "round_length": 0},
            "display_icon": "cpu"},
    "mem": {"slot_name": "mem", "description": "Memory", "human_readable_name": "RAM",
            "display_unit": "GiB", "number_format": {"binary": True, "round_length": 0},
            "display_icon": "cpu"},
}


def _check_key(key: str) -> str:
    key = key.strip()
    if any(part in (".", "..") for part in key.split("/")):
        raise InvalidAPIParameters(f"invalid etcd key: {key!r}")
    return key


async def get(etcd: AsyncEtcd, key: str, prefix: bool) -> Any:
    key = _check_key(key)
    if prefix:
        return await etcd.get_prefix(key)
    return await etcd.get(key)


async def put(etcd: AsyncEtcd, key: str, value: Any) -> None:
    """A string stores one key; a JSON object stores a subtree (nested keys)."""
    key = _check_key(key)
    if isinstance(value, Mapping):
        await etcd.put_prefix(key, value)
    elif isinstance(value, bool):
        await etcd.put(key, "true" if value else "false")
    elif isinstance(value, str | int | float):
        await etcd.put(key, str(value))
    else:
        raise InvalidAPIParameters("value must be a string or a JSON object")


async def delete(etcd: AsyncEtcd, key: str, prefix: bool) -> None:
    key = _check_key(key)
    if prefix:
        await etcd.delete_prefix(key)
    else:
        await etcd.delete(key)


async def resource_slot_details(shared: SharedConfig, db: AsyncEngine, sgroup: str | None) -> dict[str, Any]:
    """Display metadata per known slot; agents' compute plugins may describe their slots."""
    known = await shared.get_resource_slots()
    query = sa.select(agents.c.available_slots, agents.c.compute_plugins).where(agents.c.status == AgentStatus.ALIVE)
    if sgroup:
        query = query.where(agents.c.scaling_group == sgroup)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    present = {"cpu", "mem"}
    plugin_meta: dict[str, dict[str, Any]] = {}
    for row in rows:
        present.update((row.available_slots or {}).keys())
        for plugin in (row.compute_plugins or {}).values():
            if isinstance(plugin, Mapping):
                for slot, meta in (plugin.get("slots") or {}).items():
                    if isinstance(meta, Mapping):
                        plugin_meta[slot] = dict(meta)
    details: dict[str, Any] = {}
    for slot, stype in known.items():
        if sgroup and slot not in present:
            continue
        base = _INTRINSIC_DETAILS.get(slot) or {
            "slot_name": slot, "description": slot, "human_readable_name": slot,
            "display_unit": "" if stype != SlotTypes.BYTES else "GiB",
            "number_format": {"binary": stype == SlotTypes.BYTES, "round_length": 2},
            "display_icon": "accelerator",
        }
        details[slot] = {**base, **plugin_meta.get(slot, {}), "slot_name": slot}
    return details
