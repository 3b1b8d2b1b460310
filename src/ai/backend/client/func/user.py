"""Users via the admin GraphQL API (and password authorization)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..request import Request
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

__all__ = ("User",)

LIST_FIELDS = ("uuid", "role", "username", "email", "is_active", "created_at", "domain_name", "groups { id name }")
DETAIL_FIELDS = ("uuid", "username", "email", "need_password_change", "status", "status_info", "created_at",
                 "domain_name", "role", "groups { id name }")


class User(BaseFunction):

    @api_function
    @classmethod
    async def authorize(cls, username: str, password: str, *, extra_args: dict[str, Any] | None = None,
                        token_type: str = "keypair") -> dict[str, Any]:
        """Exchange an email and password for the user's keypair (`/auth/authorize`)."""
        from ..session import api_session

        rqst = Request("POST", "/auth/authorize")
        rqst.set_json({"type": token_type, "domain": api_session.get().config.domain,
                       "username": username, "password": password, **(extra_args or {})})
        async with rqst.fetch(anonymous=True) as resp:
            return (await resp.json())["data"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def list(cls, status: str | None = None, group: str | None = None,
                   fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        q = (f"query($status: String, $group: UUID) {{ users(status: $status, group_id: $group) "
             f"{{ {field_refs(fields)} }} }}")
        return (await gql(q, {"status": status, "group": group}))["users"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def paginated_list(cls, status: str | None = None, group: str | None = None, *,
                             fields: Sequence[Any] = LIST_FIELDS, page_offset: int = 0, page_size: int = 20,
                             filter: str | None = None, order: str | None = None) -> PaginatedResult:
        return await paginated_query("user_list", {
            "status": (status, "String"), "group_id": (group, "UUID"),
            "filter": (filter, "String"), "order": (order, "String")},
            fields, page_offset=page_offset, page_size=page_size)

    @api_function
    @classmethod
    async def detail(cls, email: str | None = None, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        """One user by email (yourself if omitted)."""
        q = f"query($email: String) {{ user(email: $email) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"email": email}))["user"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def detail_by_uuid(cls, user_uuid: str | None = None,
                             fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        q = f"query($user_id: ID) {{ user_from_uuid(user_id: $user_id) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"user_id": str(user_uuid) if user_uuid else None}))["user_from_uuid"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def create(cls, domain_name: str, email: str, password: str, *, username: Any = undefined,
                     full_name: Any = undefined, role: str = "user", status: str = "active",
                     need_password_change: bool = False, description: str = "",
                     allowed_client_ip: Any = undefined, totp_activated: bool = False,
                     group_ids: Iterable[str] | Any = undefined, sudo_session_enabled: bool = False,
                     resource_policy: Any = undefined,
                     fields: Sequence[Any] = ("uuid", "email", "username", "domain_name", "role")) -> dict[str, Any]:
        props = set_if_given(
            {"domain_name": domain_name, "password": password, "role": str(role).lower(),
             "status": str(status).lower(), "need_password_change": need_password_change,
             "description": description, "totp_activated": totp_activated,
             "sudo_session_enabled": sudo_session_enabled},
            username=username, full_name=full_name, allowed_client_ip=allowed_client_ip,
            group_ids=list(group_ids) if group_ids is not undefined else undefined,
            resource_policy=resource_policy)
        return await gql_mutation("create_user", {"email": (email, "String!"), "props": (props, "UserInput!")},
                                  f"ok msg user {{ {field_refs(fields)} }}")

    @api_function
    @classmethod
    async def update(cls, email: str, *, password: Any = undefined, username: Any = undefined,
                     full_name: Any = undefined, domain_name: Any = undefined, role: Any = undefined,
                     status: Any = undefined, need_password_change: Any = undefined,
                     description: Any = undefined, allowed_client_ip: Any = undefined,
                     totp_activated: Any = undefined, group_ids: Any = undefined,
                     sudo_session_enabled: Any = undefined, main_access_key: Any = undefined,
                     resource_policy: Any = undefined) -> dict[str, Any]:
        props = set_if_given(
            {}, password=password, username=username, full_name=full_name, domain_name=domain_name,
            role=str(role).lower() if role is not undefined else undefined,
            status=str(status).lower() if status is not undefined else undefined,
            need_password_change=need_password_change, description=description,
            allowed_client_ip=allowed_client_ip, totp_activated=totp_activated, group_ids=group_ids,
            sudo_session_enabled=sudo_session_enabled, main_access_key=main_access_key,
            resource_policy=resource_policy)
        return await gql_mutation("modify_user", {"email": (email, "String!"), "props": (props, "ModifyUserInput!")})

    @api_function
    @classmethod
    async def delete(cls, email: str) -> dict[str, Any]:
        """Deactivate the user (status "deleted"); `purge` removes it for good."""
        return await gql_mutation("delete_user", {"email": (email, "String!")})

    @api_function
    @classmethod
    async def purge(cls, email: str, purge_shared_vfolders: bool = False) -> dict[str, Any]:
        return await gql_mutation("purge_user", {
            "email": (email, "String!"),
            "props": ({"purge_shared_vfolders": purge_shared_vfolders}, "PurgeUserInput!")})
