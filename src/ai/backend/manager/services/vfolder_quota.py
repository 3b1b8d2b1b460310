"""Quota scopes and folder-count limits from the user and project resource policies.

Every vfolder is accounted to its owner's quota scope on its volume (`user:<uuid>` or
`project:<uuid>`, the manual's "Quota scopes"). The scope's hard limit comes from the
owner's policy (`max_quota_scope_size`; zero or negative means unlimited) when the scope is
first created; the storage proxy enforces it, for uploads before a single byte is written.
`max_vfolder_count` (zero: unlimited) caps how many vfolders a user or a project owns.

Changing a limit afterwards (`POST /folders/_/quota`) is for the owner within their policy's
maximum, and for admins without it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.storage_proxy_client import StorageProxyError, StorageProxyManagerClient
from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType

from ..errors import Forbidden, InvalidAPIParameters, QuotaExceeded
from ..models import groups, project_resource_policies, user_resource_policies, users, vfolders


@dataclass(frozen=True)
class OwnerLimits:
    quota_bytes: int | None      # the quota scope's limit; None: unlimited
    max_vfolders: int | None     # None: unlimited


def _limit(value: int | None) -> int | None:
    return int(value) if value is not None and value > 0 else None


async def limits_of(conn: AsyncConnection, qsid: QuotaScopeID) -> OwnerLimits:
    """The resource policy limits of the user or project a quota scope belongs to."""
    if qsid.scope_type == QuotaScopeType.USER:
        row = (await conn.execute(
            sa.select(user_resource_policies.c.max_quota_scope_size, user_resource_policies.c.max_vfolder_count)
            .select_from(users.join(user_resource_policies, users.c.resource_policy == user_resource_policies.c.name))
            .where(users.c.uuid == qsid.scope_id)
        )).first()
    else:
        row = (await conn.execute(
            sa.select(project_resource_policies.c.max_quota_scope_size, project_resource_policies.c.max_vfolder_count)
            .select_from(groups.join(project_resource_policies,
                                     groups.c.resource_policy == project_resource_policies.c.name))
            .where(groups.c.id == qsid.scope_id)
        )).first()
    if row is None:
        return OwnerLimits(None, None)
    return OwnerLimits(_limit(row.max_quota_scope_size), _limit(row.max_vfolder_count))


def scope_for(*, user: uuid.UUID | None = None, group: uuid.UUID | None = None) -> QuotaScopeID:
    if group is not None:
        return QuotaScopeID(QuotaScopeType.PROJECT, group)
    assert user is not None
    return QuotaScopeID(QuotaScopeType.USER, user)


async def check_vfolder_count(conn: AsyncConnection, qsid: QuotaScopeID, limits: OwnerLimits) -> None:
    if limits.max_vfolders is None:
        return
    col = vfolders.c.user if qsid.scope_type == QuotaScopeType.USER else vfolders.c.group
    count = (await conn.execute(sa.select(sa.func.count()).where(col == qsid.scope_id))).scalar_one()
    if count >= limits.max_vfolders:
        who = "you" if qsid.scope_type == QuotaScopeType.USER else "the project"
        raise QuotaExceeded(f"{who} already own {count} vfolders, the resource policy's maximum "
                            f"(max_vfolder_count = {limits.max_vfolders})")


async def ensure_quota_scope(client: StorageProxyManagerClient, volume: str, qsid: QuotaScopeID,
                             limits: OwnerLimits) -> None:
    """Create the scope with the policy's limit on first use; an existing scope keeps its limit."""
    try:
        await client.create_quota_scope(volume, qsid, limits.quota_bytes)
    except StorageProxyError as e:
        if e.status != 409:
            raise


def check_new_limit(requested: int | None, limits: OwnerLimits, *, is_admin: bool) -> int | None:
    """The limit an owner may set: within their policy's maximum unless an admin sets it."""
    if requested is not None and requested < 0:
        raise InvalidAPIParameters("size_bytes must not be negative (0 removes the limit)")
    new = requested or None
    if is_admin or limits.quota_bytes is None:
        return new
    if new is None or new > limits.quota_bytes:
        raise Forbidden(f"the quota scope limit cannot exceed your resource policy's maximum "
                        f"({limits.quota_bytes} bytes); ask an admin")
    return new
