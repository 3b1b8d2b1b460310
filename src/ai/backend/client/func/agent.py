"""Agents (admin): listing and details; AgentWatcher is not offered by this server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import BaseFunction, PaginatedResult, api_function, field_refs, gql, paginated_query

__all__ = ("Agent", "AgentWatcher")

LIST_FIELDS = ("id", "status", "architecture", "scaling_group", "region", "first_contact", "cpu_cur_pct",
               "mem_cur_bytes", "available_slots", "occupied_slots")
DETAIL_FIELDS = (*LIST_FIELDS, "addr", "version", "compute_plugins", "live_stat")


class Agent(BaseFunction):

    @api_function
    @classmethod
    async def paginated_list(cls, status: str = "ALIVE", scaling_group: str | None = None, *,
                             fields: Sequence[Any] = LIST_FIELDS, page_offset: int = 0, page_size: int = 20,
                             filter: str | None = None, order: str | None = None) -> PaginatedResult:
        return await paginated_query("agent_list", {
            "status": (status, "String"), "scaling_group": (scaling_group, "String"),
            "filter": (filter, "String"), "order": (order, "String")},
            fields, page_offset=page_offset, page_size=page_size)

    @api_function
    @classmethod
    async def list(cls, status: str = "ALIVE", scaling_group: str | None = None,
                   fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        q = (f"query($status: String, $scaling_group: String) {{ agents(status: $status, "
             f"scaling_group: $scaling_group) {{ {field_refs(fields)} }} }}")
        return (await gql(q, {"status": status, "scaling_group": scaling_group}))["agents"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def detail(cls, agent_id: str, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        q = f"query($agent_id: String!) {{ agent(agent_id: $agent_id) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"agent_id": agent_id}))["agent"]  # type: ignore[no-any-return]


class AgentWatcher(BaseFunction):
    """Placeholder for the agent watcher API (not part of this platform)."""
