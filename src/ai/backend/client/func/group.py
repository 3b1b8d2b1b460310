"""Groups (projects) via the admin GraphQL API."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from .base import BaseFunction, api_function, field_refs, gql, gql_mutation, set_if_given, undefined

__all__ = ("Group",)

LIST_FIELDS = ("id", "name", "description", "is_active", "created_at", "domain_name", "total_resource_slots",
               "allowed_vfolder_hosts", "integration_id")
DETAIL_FIELDS = LIST_FIELDS


def _json(value: Any) -> Any:
    return json.dumps(value) if value is not undefined and not isinstance(value, str) and value is not None else value


class Group(BaseFunction):

    @api_function
    @classmethod
    async def from_name(cls, name: str, *, fields: Sequence[Any] | None = None,
                        domain_name: str | None = None) -> list[dict[str, Any]]:
        q = (f"query($name: String!, $domain_name: String) {{ groups_by_name(name: $name, domain_name: $domain_name) "
             f"{{ {field_refs(fields or DETAIL_FIELDS)} }} }}")
        return (await gql(q, {"name": name, "domain_name": domain_name}))["groups_by_name"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def list(cls, domain_name: str | None = None, fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        q = (f"query($domain_name: String) {{ groups(domain_name: $domain_name) "
             f"{{ {field_refs(fields)} }} }}")
        return (await gql(q, {"domain_name": domain_name}))["groups"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def detail(cls, gid: str, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        q = f"query($gid: UUID!) {{ group(id: $gid) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"gid": str(gid)}))["group"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def create(cls, domain_name: str, name: str, *, description: str = "", is_active: bool = True,
                     total_resource_slots: Any = None, allowed_vfolder_hosts: Any = None,
                     integration_id: str | None = None, fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {"domain_name": domain_name, "description": description, "is_active": is_active}
        if total_resource_slots is not None:
            props["total_resource_slots"] = _json(total_resource_slots)
        if allowed_vfolder_hosts is not None:
            props["allowed_vfolder_hosts"] = _json(allowed_vfolder_hosts)
        if integration_id is not None:
            props["integration_id"] = integration_id
        return await gql_mutation("create_group", {"name": (name, "String!"), "props": (props, "GroupInput!")},
                                  f"ok msg group {{ {field_refs(fields or ('id', 'name', 'domain_name'))} }}")

    @api_function
    @classmethod
    async def update(cls, gid: str, *, name: Any = undefined, description: Any = undefined,
                     is_active: Any = undefined, total_resource_slots: Any = undefined,
                     allowed_vfolder_hosts: Any = undefined, integration_id: Any = undefined,
                     fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = set_if_given({}, name=name, description=description, is_active=is_active,
                             total_resource_slots=_json(total_resource_slots),
                             allowed_vfolder_hosts=_json(allowed_vfolder_hosts), integration_id=integration_id)
        return await gql_mutation("modify_group", {"gid": (str(gid), "UUID!"), "props": (props, "ModifyGroupInput!")})

    @api_function
    @classmethod
    async def delete(cls, gid: str) -> dict[str, Any]:
        """Deactivate the group; `purge` removes it."""
        return await gql_mutation("delete_group", {"gid": (str(gid), "UUID!")})

    @api_function
    @classmethod
    async def purge(cls, gid: str) -> dict[str, Any]:
        return await gql_mutation("purge_group", {"gid": (str(gid), "UUID!")})

    @api_function
    @classmethod
    async def add_users(cls, gid: str, user_uuids: Iterable[str], fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = {"user_update_mode": "add", "user_uuids": [str(u) for u in user_uuids]}
        return await gql_mutation("modify_group", {"gid": (str(gid), "UUID!"), "props": (props, "ModifyGroupInput!")})

    @api_function
    @classmethod
    async def remove_users(cls, gid: str, user_uuids: Iterable[str],
                           fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = {"user_update_mode": "remove", "user_uuids": [str(u) for u in user_uuids]}
        return await gql_mutation("modify_group", {"gid": (str(gid), "UUID!"), "props": (props, "ModifyGroupInput!")})
