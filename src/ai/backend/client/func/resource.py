"""Resource presets and their availability (`/resource/...`)."""

from __future__ import annotations

from typing import Any

from ..request import Request
from .base import BaseFunction, api_function

__all__ = ("Resource",)


class Resource(BaseFunction):

    @api_function
    @classmethod
    async def list(cls) -> Any:
        """The resource presets."""
        async with Request("GET", "/resource/presets").fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def check_presets(cls, group: str | None = None, scaling_group: str | None = None) -> Any:
        """Which presets fit the requester's remaining quota and the cluster right now."""
        rqst = Request("POST", "/resource/check-presets")
        body = {k: v for k, v in (("group", group), ("scaling_group", scaling_group)) if v is not None}
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def get_docker_registries(cls) -> Any:
        async with Request("GET", "/config/docker-registries").fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def get_resource_slots(cls) -> Any:
        async with Request("GET", "/config/resource-slots").fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def get_vfolder_types(cls) -> Any:
        async with Request("GET", "/config/vfolder-types").fetch() as resp:
            return await resp.json()
