"""Keypair resource policies via the admin GraphQL API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .base import BaseFunction, api_function, field_refs, gql, gql_mutation, set_if_given, undefined

__all__ = ("KeypairResourcePolicy",)

LIST_FIELDS = ("name", "created_at", "total_resource_slots", "max_concurrent_sessions", "max_vfolder_count",
               "max_vfolder_size", "idle_timeout", "max_containers_per_session", "allowed_vfolder_hosts")
DETAIL_FIELDS = LIST_FIELDS


def _json(value: Any) -> Any:
    return json.dumps(value) if value is not undefined and not isinstance(value, str) and value is not None else value


class KeypairResourcePolicy(BaseFunction):

    def __init__(self, access_key: str) -> None:
        self.access_key = access_key

    @api_function
    @classmethod
    async def create(cls, name: str, *, default_for_unspecified: str = "UNLIMITED",
                     total_resource_slots: Any = "{}", max_session_lifetime: int = 0,
                     max_concurrent_sessions: int = 30, max_concurrent_sftp_sessions: int = 1,
                     max_containers_per_session: int = 1, idle_timeout: int = 1800,
                     vfolder_host_perms: Any = undefined, max_vfolder_count: Any = undefined,
                     max_vfolder_size: Any = undefined, max_pending_session_count: Any = undefined,
                     fields: Sequence[Any] | None = None) -> dict[str, Any]:
        props = set_if_given(
            {"default_for_unspecified": default_for_unspecified, "total_resource_slots": _json(total_resource_slots),
             "max_session_lifetime": max_session_lifetime, "max_concurrent_sessions": max_concurrent_sessions,
             "max_concurrent_sftp_sessions": max_concurrent_sftp_sessions,
             "max_containers_per_session": max_containers_per_session, "idle_timeout": idle_timeout},
            allowed_vfolder_hosts=_json(vfolder_host_perms), max_vfolder_count=max_vfolder_count,
            max_vfolder_size=max_vfolder_size, max_pending_session_count=max_pending_session_count)
        return await gql_mutation("create_keypair_resource_policy",
                                  {"name": (name, "String!"), "props": (props, "CreateKeyPairResourcePolicyInput!")},
                                  f"ok msg resource_policy {{ {field_refs(fields or ('name',))} }}")

    @api_function
    @classmethod
    async def update(cls, name: str, *, default_for_unspecified: Any = undefined, max_session_lifetime: Any = undefined,
                     max_concurrent_sessions: Any = undefined, max_concurrent_sftp_sessions: Any = undefined,
                     max_containers_per_session: Any = undefined, idle_timeout: Any = undefined,
                     total_resource_slots: Any = undefined, vfolder_host_perms: Any = undefined,
                     max_vfolder_count: Any = undefined, max_vfolder_size: Any = undefined,
                     max_pending_session_count: Any = undefined) -> dict[str, Any]:
        props = set_if_given(
            {}, default_for_unspecified=default_for_unspecified, max_session_lifetime=max_session_lifetime,
            max_concurrent_sessions=max_concurrent_sessions, max_concurrent_sftp_sessions=max_concurrent_sftp_sessions,
            max_containers_per_session=max_containers_per_session, idle_timeout=idle_timeout,
            total_resource_slots=_json(total_resource_slots), allowed_vfolder_hosts=_json(vfolder_host_perms),
            max_vfolder_count=max_vfolder_count, max_vfolder_size=max_vfolder_size,
            max_pending_session_count=max_pending_session_count)
        return await gql_mutation("modify_keypair_resource_policy",
                                  {"name": (name, "String!"), "props": (props, "ModifyKeyPairResourcePolicyInput!")})

    @api_function
    @classmethod
    async def delete(cls, name: str) -> dict[str, Any]:
        return await gql_mutation("delete_keypair_resource_policy", {"name": (name, "String!")})

    @api_function
    @classmethod
    async def list(cls, fields: Sequence[Any] = LIST_FIELDS) -> list[dict[str, Any]]:
        q = f"query {{ keypair_resource_policies {{ {field_refs(fields)} }} }}"
        return (await gql(q))["keypair_resource_policies"]  # type: ignore[no-any-return]

    @api_function
    async def info(self, name: str, fields: Sequence[Any] = DETAIL_FIELDS) -> dict[str, Any]:
        q = f"query($name: String) {{ keypair_resource_policy(name: $name) {{ {field_refs(fields)} }} }}"
        return (await gql(q, {"name": name}))["keypair_resource_policy"]  # type: ignore[no-any-return]
