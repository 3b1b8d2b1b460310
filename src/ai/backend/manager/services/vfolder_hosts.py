"""Volume-level permissions: what a user may do on which storage host.

`allowed_vfolder_hosts` of a domain, a project (group) and a keypair resource policy map a
volume host ("proxy:volume") to the actions allowed there (the install guide's format; a
plain list of hosts, the legacy format, allows every action). A user's permissions on a host
are the union over their domain, the project(s) in question and their keypair's policy.

Which action each operation needs:

    create-vfolder                 create, clone (on the target host)
    modify-vfolder                 rename, update-options, quota set
    delete-vfolder                 delete
    mount-in-session               mounting in a compute session
    upload-file                    request-upload, mkdir, rename-file, move-file, delete-files
    download-file                  request-download, clone (on the source host)
    invite-others                  invite (user vfolders), share/unshare (project vfolders)
    set-user-specific-permission   changing or revoking a share (invitations/update, _/shared)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..context import RootContext
from ..errors import Forbidden
from ..models import VFolderHostPermission, domains, groups, keypair_resource_policies
from .storage_proxies import storage_proxies
from .vfolder_access import Accessor, member_groups

HostPermissions = dict[str, set[VFolderHostPermission]]
ALL_PERMISSIONS = frozenset(VFolderHostPermission)


def parse_host_map(raw: Any) -> HostPermissions:
    """An allowed_vfolder_hosts value as {host: {permission, ...}}; unknown actions are dropped."""
    out: HostPermissions = {}
    if isinstance(raw, Mapping):
        for host, perms in raw.items():
            known = {p for p in (perms or []) if p in VFolderHostPermission._value2member_map_}
            out[str(host)] = {VFolderHostPermission(p) for p in known}
    elif isinstance(raw, list | tuple):
        for host in raw:
            out[str(host)] = set(ALL_PERMISSIONS)
    return out


def merge(*maps: HostPermissions) -> HostPermissions:
    out: HostPermissions = {}
    for m in maps:
        for host, perms in m.items():
            out.setdefault(host, set()).update(perms)
    return out


async def allowed_hosts(conn: AsyncConnection, acc: Accessor, *,
                        group_ids: Iterable[uuid.UUID] | None = None) -> HostPermissions:
    """The accessor's permissions per host: their domain, the given projects (default: every
    project they belong to) and their keypair's resource policy."""
    domain_raw = (await conn.execute(
        sa.select(domains.c.allowed_vfolder_hosts).where(domains.c.name == acc.domain_name)
    )).scalar_one_or_none()
    policy_raw = (await conn.execute(
        sa.select(keypair_resource_policies.c.allowed_vfolder_hosts)
        .where(keypair_resource_policies.c.name == acc.keypair_policy)
    )).scalar_one_or_none()
    if group_ids is None:
        group_query = sa.select(groups.c.allowed_vfolder_hosts).where(groups.c.id.in_(member_groups(acc.user_uuid)))
    else:
        group_query = sa.select(groups.c.allowed_vfolder_hosts).where(groups.c.id.in_(list(group_ids)))
    group_raws: list[Any] = list((await conn.execute(group_query)).scalars().all())
    return merge(parse_host_map(domain_raw), parse_host_map(policy_raw), *(parse_host_map(g) for g in group_raws))


async def require_host_permission(conn: AsyncConnection, acc: Accessor, host: str,
                                  action: VFolderHostPermission, *, group_id: uuid.UUID | None = None) -> None:
    """Forbidden unless `action` is allowed on `host` (for a project vfolder: via its project)."""
    perms = await allowed_hosts(conn, acc, group_ids=[group_id] if group_id is not None else None)
    if host not in perms:
        raise Forbidden(f"you are not allowed to use the storage host {host!r}")
    if action not in perms[host]:
        raise Forbidden(f"the storage host {host!r} does not allow {action.value!r} for you")


def host_map_json(perms: HostPermissions) -> dict[str, list[str]]:
    return {host: sorted(p.value for p in ps) for host, ps in sorted(perms.items())}


# --- listing ----------------------------------------------------------------------------------

async def list_hosts(ctx: RootContext, acc: Accessor, *, group_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The hosts this user may use (that exist on a registered proxy), with volume details."""
    async with ctx.db.connect() as conn:
        perms = await allowed_hosts(conn, acc, group_ids=[group_id] if group_id is not None else None)
    registry = storage_proxies(ctx)
    volumes = await registry.all_volumes()
    usable = {h: p for h, p in perms.items() if h in volumes}
    default = await registry.default_host()
    return {
        "default": default if default in usable else None,
        "allowed": sorted(usable),
        "volume_info": {h: {"backend": volumes[h].backend, "capabilities": sorted(volumes[h].capabilities),
                            "permissions": sorted(p.value for p in usable[h])} for h in sorted(usable)},
    }


async def all_hosts(ctx: RootContext) -> dict[str, Any]:
    registry = storage_proxies(ctx)
    volumes = await registry.all_volumes()
    default = await registry.default_host()
    return {"default": default if default in volumes else None, "allowed": sorted(volumes)}
