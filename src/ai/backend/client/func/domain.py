"""Domains via the admin GraphQL API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .base import BaseFunction, api_function, field_refs, gql, gql_mutation, set_if_given, undefined

__all__ = ("Domain",)

LIST_FIELDS = ("name", "description", "is_active", "created_at", "total_resource_slots",
               "allowed_vfolder_hosts", "allowed_docker_registries", "integration_id")
DETAIL_FIELDS = LIST_FIELDS


def _json(value: Any) -> Any:
    return json.dumps(value) if value is not undefined and not isinstance(value, str) and value is not None else value


class Domain(BaseFunction):

    @api_function
    @classmethod
    async def list(cls, fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        return (await gql(f"query {{ domains {{ {field_refs(fields)} }} }}"))["domains"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def detail(cls, name: str, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        q = f"query($name: String) {{ domain(name: $name) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"name": name}))["domain"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def create(cls, name: str, *, description: str = "", is_active: bool = True,
                     total_resource_slots: Any = undefined, vfolder_host_perms: Any = undefined,
                     allowed_docker_registries: Any = undefined, integration_id: Any = undefined,
                     fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = set_if_given({"description": description, "is_active": is_active},
                             total_resource_slots=_json(total_resource_slots),
                             allowed_vfolder_hosts=_json(vfolder_host_perms),
                             allowed_docker_registries=allowed_docker_registries, integration_id=integration_id)
        return await gql_mutation("create_domain", {"name": (name, "String!"), "props": (props, "DomainInput!")},
                                  f"ok msg domain {{ {field_refs(fields or ('name', 'description', 'is_active'))} }}")

    @api_function
    @classmethod
    async def update(cls, name: str, *, new_name: Any = undefined, description: Any = undefined,
                     is_active: Any = undefined, total_resource_slots: Any = undefined,
                     vfolder_host_perms: Any = undefined, allowed_docker_registries: Any = undefined,
                     integration_id: Any = undefined, fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = set_if_given({}, name=new_name, description=description, is_active=is_active,
                             total_resource_slots=_json(total_resource_slots),
                             allowed_vfolder_hosts=_json(vfolder_host_perms),
                             allowed_docker_registries=allowed_docker_registries, integration_id=integration_id)
        return await gql_mutation("modify_domain", {"name": (name, "String!"), "props": (props, "ModifyDomainInput!")})

    @api_function
    @classmethod
    async def delete(cls, name: str) -> dict[str, Any]:
        return await gql_mutation("delete_domain", {"name": (name, "String!")})

    @api_function
    @classmethod
    async def purge(cls, name: str) -> dict[str, Any]:
        return await gql_mutation("purge_domain", {"name": (name, "String!")})
