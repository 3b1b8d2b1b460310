"""Scaling (resource) groups: listing, administration and associations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..request import Request
from .base import BaseFunction, api_function, field_refs, gql, gql_mutation, set_if_given, undefined

__all__ = ("ScalingGroup",)

LIST_FIELDS = ("name", "description", "is_active", "is_public", "created_at", "driver", "scheduler",
               "use_host_network", "wsproxy_addr", "wsproxy_api_token")
DETAIL_FIELDS = (*LIST_FIELDS, "driver_opts", "scheduler_opts")


def _json(value: Any) -> Any:
    return json.dumps(value) if value is not undefined and not isinstance(value, str) and value is not None else value


class ScalingGroup(BaseFunction):

    def __init__(self, name: str) -> None:
        self.name = name

    @api_function
    @classmethod
    async def list_available(cls, group: str) -> list[dict[str, Any]]:
        """Scaling groups the requester may use in this group (REST `/scaling-groups`)."""
        rqst = Request("GET", "/scaling-groups", params={"group": group})
        async with rqst.fetch() as resp:
            return (await resp.json())["scaling_groups"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def list(cls, fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        q = f"query($is_active: Boolean) {{ scaling_groups(is_active: $is_active) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"is_active": None}))["scaling_groups"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def detail(cls, name: str, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        q = f"query($name: String) {{ scaling_group(name: $name) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"name": name}))["scaling_group"]  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def create(cls, name: str, *, description: str = "", is_active: bool = True, is_public: bool = True,
                     driver: str = "static", driver_opts: Any = undefined, scheduler: str = "fifo",
                     scheduler_opts: Any = undefined, use_host_network: bool = False,
                     wsproxy_addr: str | None = None, wsproxy_api_token: str | None = None,
                     fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = set_if_given({"description": description, "is_active": is_active, "is_public": is_public,
                              "driver": driver, "scheduler": scheduler, "use_host_network": use_host_network,
                              "wsproxy_addr": wsproxy_addr, "wsproxy_api_token": wsproxy_api_token},
                             driver_opts=_json(driver_opts), scheduler_opts=_json(scheduler_opts))
        return await gql_mutation("create_scaling_group",
                                  {"name": (name, "String!"), "props": (props, "CreateScalingGroupInput!")},
                                  f"ok msg scaling_group {{ {field_refs(fields or ('name',))} }}")

    @api_function
    @classmethod
    async def update(cls, name: str, *, description: Any = undefined, is_active: Any = undefined,
                     is_public: Any = undefined, driver: Any = undefined, driver_opts: Any = undefined,
                     scheduler: Any = undefined, scheduler_opts: Any = undefined, use_host_network: Any = undefined,
                     wsproxy_addr: Any = undefined, wsproxy_api_token: Any = undefined,
                     fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = set_if_given({}, description=description, is_active=is_active, is_public=is_public, driver=driver,
                             driver_opts=_json(driver_opts), scheduler=scheduler,
                             scheduler_opts=_json(scheduler_opts), use_host_network=use_host_network,
                             wsproxy_addr=wsproxy_addr, wsproxy_api_token=wsproxy_api_token)
        return await gql_mutation("modify_scaling_group",
                                  {"name": (name, "String!"), "props": (props, "ModifyScalingGroupInput!")})

    @api_function
    @classmethod
    async def delete(cls, name: str) -> dict[str, Any]:
        return await gql_mutation("delete_scaling_group", {"name": (name, "String!")})

    @api_function
    @classmethod
    async def associate_domain(cls, scaling_group: str, domain: str) -> dict[str, Any]:
        return await gql_mutation("associate_scaling_group_with_domain", {
            "scaling_group": (scaling_group, "String!"), "domain": (domain, "String!")})

    @api_function
    @classmethod
    async def dissociate_domain(cls, scaling_group: str, domain: str) -> dict[str, Any]:
        return await gql_mutation("disassociate_scaling_group_with_domain", {
            "scaling_group": (scaling_group, "String!"), "domain": (domain, "String!")})

    @api_function
    @classmethod
    async def dissociate_all_domain(cls, domain: str) -> dict[str, Any]:
        return await gql_mutation("disassociate_all_scaling_groups_with_domain", {"domain": (domain, "String!")})

    @api_function
    @classmethod
    async def associate_group(cls, scaling_group: str, group_id: str) -> dict[str, Any]:
        return await gql_mutation("associate_scaling_group_with_user_group", {
            "scaling_group": (scaling_group, "String!"), "user_group": (str(group_id), "String!")})

    @api_function
    @classmethod
    async def dissociate_group(cls, scaling_group: str, group_id: str) -> dict[str, Any]:
        return await gql_mutation("disassociate_scaling_group_with_user_group", {
            "scaling_group": (scaling_group, "String!"), "user_group": (str(group_id), "String!")})

    @api_function
    @classmethod
    async def dissociate_all_group(cls, group_id: str) -> dict[str, Any]:
        return await gql_mutation("disassociate_all_scaling_groups_with_group",
                                  {"user_group": (str(group_id), "String!")})
