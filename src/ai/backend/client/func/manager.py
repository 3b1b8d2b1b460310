"""Manager status (running/frozen), freeze/unfreeze and the announcement banner."""

from __future__ import annotations

from typing import Any

from ..request import Request
from .base import BaseFunction, api_function

__all__ = ("Manager",)


class Manager(BaseFunction):

    @api_function
    @classmethod
    async def status(cls) -> dict[str, Any]:
        """The manager nodes and whether the cluster is running or frozen."""
        rqst = Request("GET", "/manager/status")
        rqst.set_json({"status": "running"})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def freeze(cls, force_kill: bool = False) -> None:
        """Stop accepting new sessions (superadmin); `force_kill` also terminates running ones."""
        rqst = Request("PUT", "/manager/status")
        rqst.set_json({"status": "frozen", "force_kill": force_kill})
        async with rqst.fetch():
            pass

    @api_function
    @classmethod
    async def unfreeze(cls) -> None:
        rqst = Request("PUT", "/manager/status")
        rqst.set_json({"status": "running"})
        async with rqst.fetch():
            pass

    @api_function
    @classmethod
    async def get_announcement(cls) -> dict[str, Any]:
        """`{"enabled": bool, "message": str}`."""
        async with Request("GET", "/manager/announcement").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def update_announcement(cls, enabled: bool = True, message: str | None = None) -> None:
        rqst = Request("POST", "/manager/announcement")
        rqst.set_json({"enabled": enabled, "message": message})
        async with rqst.fetch():
            pass

    @api_function
    @classmethod
    async def scheduler_op(cls, op: str, args: Any) -> None:
        """`include-agents` / `exclude-agents` with a list of agent ids (superadmin)."""
        rqst = Request("POST", "/manager/scheduler/operation")
        rqst.set_json({"op": op, "args": args})
        async with rqst.fetch():
            pass
