"""Server version information (`GET /`)."""

from __future__ import annotations

from collections.abc import Mapping

from ..request import Request
from .base import BaseFunction, api_function

__all__ = ("System",)


class System(BaseFunction):

    @api_function
    @classmethod
    async def get_versions(cls) -> Mapping[str, str]:
        """`{"version": <API version>, "manager": <server version>}`."""
        async with Request("GET", "/").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def get_manager_version(cls) -> str:
        async with Request("GET", "/").fetch() as resp:
            return str((await resp.json())["manager"])

    @api_function
    @classmethod
    async def get_api_version(cls) -> str:
        async with Request("GET", "/").fetch() as resp:
            return str((await resp.json())["version"])
