"""Space: a vfolder's usage and its quota scope's usage and limit (`/folders/_/quota|usage|used-bytes`).

These endpoints name a vfolder by `id` plus its `folder_host`; the host must be the vfolder's.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..context import RootContext
from ..errors import InvalidAPIParameters
from ..models import VFolderHostPermission
from .storage_proxies import proxy_call, storage_proxies
from .vfolder_access import Accessor, VFolderAccess, quota_scope_of, resolve_by_id
from .vfolder_hosts import require_host_permission
from .vfolder_quota import check_new_limit, limits_of


async def _folder(ctx: RootContext, acc: Accessor, host: str, folder_id: uuid.UUID) -> VFolderAccess:
    async with ctx.db.connect() as conn:
        a = await resolve_by_id(conn, acc, folder_id)
    if a.host != host:
        raise InvalidAPIParameters(f"vfolder {folder_id} is on host {a.host!r}, not {host!r}")
    return a


async def usage(ctx: RootContext, acc: Accessor, host: str, folder_id: uuid.UUID) -> dict[str, Any]:
    a = await _folder(ctx, acc, host, folder_id)
    async with proxy_call(host):
        client, volume = await storage_proxies(ctx).client(host)
        u = await client.get_usage(volume, a.vfid)
    return {"file_count": u.file_count, "used_bytes": u.used_bytes}


async def used_bytes(ctx: RootContext, acc: Accessor, host: str, folder_id: uuid.UUID) -> dict[str, Any]:
    a = await _folder(ctx, acc, host, folder_id)
    async with proxy_call(host):
        client, volume = await storage_proxies(ctx).client(host)
        return {"used_bytes": await client.get_used_bytes(volume, a.vfid)}


async def get_quota(ctx: RootContext, acc: Accessor, host: str, folder_id: uuid.UUID) -> dict[str, Any]:
    """The quota scope the vfolder is accounted to: its usage (all its vfolders) and limit."""
    a = await _folder(ctx, acc, host, folder_id)
    qsid = quota_scope_of(a.row)
    async with proxy_call(host):
        client, volume = await storage_proxies(ctx).client(host)
        q = await client.get_quota_scope(volume, qsid)
    return {"quota_scope_id": str(qsid), "used_bytes": q.used_bytes, "limit_bytes": q.limit_bytes,
            "size_bytes": q.limit_bytes or 0}


async def set_quota(ctx: RootContext, acc: Accessor, host: str, folder_id: uuid.UUID,
                    size_bytes: int) -> dict[str, Any]:
    """Set the hard limit of the vfolder's quota scope (0 removes it); see vfolder_quota."""
    a = await _folder(ctx, acc, host, folder_id)
    a.require_owner("change its quota")
    qsid = quota_scope_of(a.row)
    async with ctx.db.connect() as conn:
        await require_host_permission(conn, acc, host, VFolderHostPermission.MODIFY, group_id=a.row.group)
        limits = await limits_of(conn, qsid)
    # Superadmins set any limit, domain admins any for their projects; others stay within policy.
    is_admin = acc.is_superadmin or (a.is_project and acc.administers(a.row.group_domain))
    new_limit = check_new_limit(size_bytes, limits, is_admin=is_admin)
    async with proxy_call(host):
        client, volume = await storage_proxies(ctx).client(host)
        await client.update_quota_scope(volume, qsid, new_limit)
    return {"quota_scope_id": str(qsid), "size_bytes": new_limit or 0}
