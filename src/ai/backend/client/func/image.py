"""Kernel images: listing, registry rescans and aliases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import BaseFunction, api_function, field_refs, gql, gql_mutation

__all__ = ("Image",)

LIST_FIELDS = ("name", "registry", "architecture", "tag", "digest", "size_bytes", "aliases")


class Image(BaseFunction):

    @api_function
    @classmethod
    async def list(cls, operation: bool = False, fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        q = f"query($is_operation: Boolean) {{ images(is_operation: $is_operation) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"is_operation": operation}))["images"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def rescan_images(cls, registry: str | None = None) -> dict[str, Any]:
        """Start a rescan (background task); the result has `task_id`."""
        return await gql_mutation("rescan_images", {"registry": (registry, "String")}, "ok msg task_id")

    @api_function
    @classmethod
    async def alias_image(cls, alias: str, target: str, arch: str | None = None) -> dict[str, Any]:
        args: dict[str, tuple[Any, str]] = {"alias": (alias, "String!"), "target": (target, "String!")}
        if arch is not None:
            args["architecture"] = (arch, "String")
        return await gql_mutation("alias_image", args)

    @api_function
    @classmethod
    async def dealias_image(cls, alias: str) -> dict[str, Any]:
        return await gql_mutation("dealias_image", {"alias": (alias, "String!")})
