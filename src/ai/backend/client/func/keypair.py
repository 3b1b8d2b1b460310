"""Keypairs (access/secret keys) via the admin GraphQL API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import (
    BaseFunction,
    PaginatedResult,
    api_function,
    field_refs,
    gql,
    gql_mutation,
    paginated_query,
    set_if_given,
    undefined,
)

__all__ = ("KeyPair",)

LIST_FIELDS = ("user_id", "access_key", "secret_key", "is_active", "is_admin", "created_at")
DETAIL_FIELDS = ("user_id", "access_key", "secret_key", "is_active", "is_admin", "resource_policy",
                 "rate_limit", "concurrency_used")


class KeyPair(BaseFunction):
    """One keypair (`KeyPair(access_key).info()`) and keypair administration."""

    def __init__(self, access_key: str) -> None:
        self.access_key = access_key

    @api_function
    @classmethod
    async def create(cls, user_id: str, is_active: bool = True, is_admin: bool = False,
                     resource_policy: Any = undefined, rate_limit: Any = undefined,
                     fields: Sequence[Any] = ("access_key", "secret_key")) -> dict[str, Any]:
        """A new keypair for the user with this email."""
        props = set_if_given({"is_active": is_active, "is_admin": is_admin},
                             resource_policy=resource_policy, rate_limit=rate_limit)
        props.setdefault("resource_policy", "default")
        return await gql_mutation("create_keypair", {"user_id": (user_id, "String!"),
                                                     "props": (props, "KeyPairInput!")},
                                  f"ok msg keypair {{ {field_refs(fields)} }}")

    @api_function
    @classmethod
    async def update(cls, access_key: str, is_active: Any = undefined, is_admin: Any = undefined,
                     resource_policy: Any = undefined, rate_limit: Any = undefined) -> dict[str, Any]:
        props = set_if_given({}, is_active=is_active, is_admin=is_admin, resource_policy=resource_policy,
                             rate_limit=rate_limit)
        return await gql_mutation("modify_keypair", {"access_key": (access_key, "String!"),
                                                     "props": (props, "ModifyKeyPairInput!")})

    @api_function
    @classmethod
    async def delete(cls, access_key: str) -> dict[str, Any]:
        return await gql_mutation("delete_keypair", {"access_key": (access_key, "String!")})

    @api_function
    @classmethod
    async def activate(cls, access_key: str) -> dict[str, Any]:
        return await gql_mutation("modify_keypair", {"access_key": (access_key, "String!"),
                                                     "props": ({"is_active": True}, "ModifyKeyPairInput!")})

    @api_function
    @classmethod
    async def deactivate(cls, access_key: str) -> dict[str, Any]:
        return await gql_mutation("modify_keypair", {"access_key": (access_key, "String!"),
                                                     "props": ({"is_active": False}, "ModifyKeyPairInput!")})

    @api_function
    @classmethod
    async def list(cls, user_id: str | None = None, is_active: bool | None = None,
                   fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        """Keypairs of one user (by email), or all visible ones."""
        if user_id is None:
            q = f"query($is_active: Boolean) {{ keypairs(is_active: $is_active) {{ {field_refs(fields)} }} }}"
            data = await gql(q, {"is_active": is_active})
        else:
            q = (f"query($email: String, $is_active: Boolean) {{ keypairs(email: $email, is_active: $is_active) "
                 f"{{ {field_refs(fields)} }} }}")
            data = await gql(q, {"email": user_id, "is_active": is_active})
        return data["keypairs"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def paginated_list(cls, is_active: bool | None = None, domain_name: str | None = None, *,
                             user_id: str | None = None, fields: Sequence[Any] = LIST_FIELDS,
                             page_offset: int = 0, page_size: int = 20, filter: str | None = None,
                             order: str | None = None) -> PaginatedResult:
        variables: dict[str, tuple[Any, str]] = {
            "is_active": (is_active, "Boolean"), "domain_name": (domain_name, "String"),
            "filter": (filter, "String"), "order": (order, "String")}
        if user_id is not None:
            variables["email"] = (user_id, "String")
        return await paginated_query("keypair_list", variables, fields, page_offset=page_offset, page_size=page_size)

    @api_function
    async def info(self, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        """This keypair's details (the requester's own unless an admin names another)."""
        q = f"query($access_key: String) {{ keypair(access_key: $access_key) {{ {field_refs(fields)} }} }}"
        data = await gql(q, {"access_key": self.access_key})
        return data["keypair"]  # type: ignore[no-any-return]
