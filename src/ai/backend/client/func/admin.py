"""Admin GraphQL queries (`POST /admin/gql`); other function classes build on `_query`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import BackendAPIError
from ..request import Request
from ..session import api_session
from .base import BaseFunction, api_function

__all__ = ("Admin",)


class Admin(BaseFunction):
    """GraphQL access to server-side resources (what you may see depends on your role)."""

    @api_function
    @classmethod
    async def query(cls, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Run a GraphQL query or mutation and return its `data`."""
        return await cls._query(query, variables)

    @classmethod
    async def _query(cls, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        body = {"query": query, "variables": dict(variables or {})}
        if api_session.get().api_version < (6, "20210815"):
            rqst = Request("POST", "/admin/graphql")
            rqst.set_json(body)
            async with rqst.fetch() as resp:
                return await resp.json()
        rqst = Request("POST", "/admin/gql")
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            result = await resp.json()
        errors = result.get("errors") if isinstance(result, dict) else None
        if errors:
            raise BackendAPIError(400, "Bad Request", {
                "type": "https://api.backend.ai/probs/graphql-error",
                "title": "GraphQL-generated error",
                "msg": "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors),
                "data": errors,
            })
        return result["data"] if isinstance(result, dict) else result
