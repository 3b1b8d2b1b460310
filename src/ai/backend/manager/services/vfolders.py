"""The vfolder lifecycle: create, list, describe, rename, update options, clone, delete.

The database row is the source of truth for who owns a vfolder and who may reach it; the
storage proxy holds its bytes. Creation creates the directory inside the row's transaction
(a failure leaves neither); deletion marks the row, refuses while a live session mounts the
vfolder, asks the proxy to remove the directory and then drops the row.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.storage_proxy_client import StorageProxyError

from ..context import RootContext
from ..errors import (
    Conflict,
    Forbidden,
    InvalidAPIParameters,
    ObjectNotFound,
    VFolderBusy,
    VFolderNotFound,
)
from ..models import (
    UserRole,
    VFolderHostPermission,
    VFolderOwnershipType,
    VFolderPermission,
    VFolderStatus,
    VFolderUsageMode,
    users,
    vfolder_permissions,
    vfolders,
)
from . import groups as group_service
from .storage_proxies import parse_host, proxy_call, storage_proxies
from .vfolder_access import (
    Accessor,
    VFolderAccess,
    check_name,
    check_name_free,
    check_project_name_free,
    list_accessible,
    lock_names,
    quota_scope_of,
    resolve,
    resolve_by_id,
    resolve_privileged,
    vfid_of,
)
from .vfolder_hosts import require_host_permission
from .vfolder_mounts import live_mounts_of
from .vfolder_quota import check_vfolder_count, ensure_quota_scope, limits_of, scope_for

log = logging.getLogger(__name__)


def item_json(a: VFolderAccess) -> dict[str, Any]:
    """A vfolder as the REST API lists it (the manual's Virtual Folder List Item Object)."""
    r = a.row
    return {
        "name": r.name, "id": r.id.hex, "quota_scope_id": str(quota_scope_of(r)), "host": r.host,
        "usage_mode": r.usage_mode.value, "created_at": str(r.created_at), "is_owner": a.is_owner,
        "permission": a.permission.value, "user": str(r.user) if r.user else None,
        "group": str(r.group) if r.group else None, "creator": r.creator, "user_email": r.owner_email,
        "group_name": r.group_name, "ownership_type": r.ownership_type.value, "type": r.ownership_type.value,
        "unmanaged_path": r.unmanaged_path, "cloneable": r.cloneable, "status": r.status.value,
        "max_files": r.max_files, "max_size": r.max_size, "cur_size": r.cur_size,
    }


async def _default_host(ctx: RootContext, host: str | None) -> str:
    if host:
        return host
    default = await storage_proxies(ctx).default_host()
    if not default:
        raise InvalidAPIParameters("give the vfolder host: no default host (volumes/default_host) is configured")
    return default


async def _check_types(ctx: RootContext, kind: str) -> None:
    allowed = await ctx.shared_config.get_vfolder_types()
    if kind not in allowed:
        raise InvalidAPIParameters(f"{kind} vfolders are not enabled (volumes/_types: {', '.join(allowed)})")


@dataclass(frozen=True)
class NewVFolder:
    name: str
    host: str | None = None
    group: str | None = None            # a project id or name: a project vfolder
    usage_mode: VFolderUsageMode = VFolderUsageMode.GENERAL
    permission: VFolderPermission = VFolderPermission.READ_WRITE
    quota: int | None = None            # the vfolder's own size cap (checked at upload requests)
    cloneable: bool = False


async def create(ctx: RootContext, acc: Accessor, spec: NewVFolder) -> dict[str, Any]:
    name = check_name(spec.name)
    host = await _default_host(ctx, spec.host)
    parse_host(host)
    async with ctx.db.begin() as conn:
        group_id: uuid.UUID | None = None
        if spec.group is not None:
            grp = await group_service.resolve(conn, acc.domain_name, spec.group)
            if not acc.administers(grp.domain_name):
                raise Forbidden("only admins of the project's domain can create project vfolders")
            if name.startswith("."):
                raise InvalidAPIParameters("dot-named vfolders are auto-mounted personal folders; "
                                           "they cannot belong to a project")
            group_id = grp.id
        await _check_types(ctx, "group" if group_id else "user")
        owner_id = group_id or acc.user_uuid
        await lock_names(conn, owner_id)
        if group_id is not None:
            await check_project_name_free(conn, group_id, name)
        await check_name_free(conn, acc, name)
        qsid = scope_for(user=acc.user_uuid, group=group_id)
        limits = await limits_of(conn, qsid)
        await check_vfolder_count(conn, qsid, limits)
        await require_host_permission(conn, acc, host, VFolderHostPermission.CREATE, group_id=group_id)
        folder_id = uuid.uuid4()
        await conn.execute(sa.insert(vfolders).values(
            id=folder_id, host=host, quota_scope_id=str(qsid), name=name, usage_mode=spec.usage_mode,
            permission=spec.permission, max_size=spec.quota or None, creator=acc.email,
            ownership_type=VFolderOwnershipType.GROUP if group_id else VFolderOwnershipType.USER,
            user=None if group_id else acc.user_uuid, group=group_id, cloneable=spec.cloneable,
            status=VFolderStatus.READY,
        ))
        async with proxy_call(host):
            client, volume = await storage_proxies(ctx).client(host)
            await ensure_quota_scope(client, volume, qsid, limits)
            await client.create_folder(volume, vfid_of(_Row(folder_id, str(qsid))))
        created = await resolve_by_id(conn, acc, folder_id)
    log.info("vfolder %s (%s) created on %s by %s", name, folder_id, host, acc.email)
    return item_json(created)


@dataclass(frozen=True)
class _Row:
    """Just enough of a vfolder row to build its storage id."""

    id: uuid.UUID
    quota_scope_id: str


async def list_folders(ctx: RootContext, acc: Accessor, *, group_id: uuid.UUID | None = None,
                       owner_email: str | None = None) -> list[dict[str, Any]]:
    """Own, shared and project vfolders (only those of `group_id` when given, plus user ones).
    Admins may list what another user of their domain reaches (`owner_email`)."""
    if owner_email is not None and owner_email != acc.email:
        acc = await _other_user(ctx, acc, owner_email)
    where = None
    if group_id is not None:
        where = (vfolders.c.group == group_id) | (vfolders.c.ownership_type == VFolderOwnershipType.USER)
    async with ctx.db.connect() as conn:
        found = await list_accessible(conn, acc, where=where)
    return [item_json(a) for a in found]


async def _other_user(ctx: RootContext, acc: Accessor, email: str) -> Accessor:
    async with ctx.db.connect() as conn:
        row = (await conn.execute(sa.select(users.c.uuid, users.c.email, users.c.domain_name)
                                  .where(users.c.email == email))).first()
    if row is None or not acc.administers(row.domain_name):
        if not acc.is_admin:
            raise Forbidden("only admins can list another user's vfolders")
        raise ObjectNotFound(f"no user with email {email!r} in your domain")
    return Accessor(row.uuid, row.email, row.domain_name, UserRole.USER, "", "")


async def info(ctx: RootContext, acc: Accessor, name: str) -> dict[str, Any]:
    async with ctx.db.connect() as conn:
        a = await resolve(conn, acc, name)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        usage = await client.get_usage(volume, a.vfid)
    return {
        **item_json(a), "numFiles": usage.file_count, "num_files": usage.file_count,
        "used_bytes": usage.used_bytes, "created": str(a.row.created_at),
        "last_used": str(a.row.last_used) if a.row.last_used else None,
    }


async def rename(ctx: RootContext, acc: Accessor, name: str, new_name: str) -> None:
    new_name = check_name(new_name, "new name")
    async with ctx.db.begin() as conn:
        a = await resolve(conn, acc, name, for_update=True)
        a.require_owner("rename it")
        a.require_status()
        if a.is_project and new_name.startswith("."):
            raise InvalidAPIParameters("project vfolders cannot have dot names")
        await require_host_permission(conn, acc, a.host, VFolderHostPermission.MODIFY, group_id=a.row.group)
        await lock_names(conn, a.row.group or a.row.user)
        if a.is_project:
            await check_project_name_free(conn, a.row.group, new_name)
        await check_name_free(conn, acc, new_name, exclude=[a.id])
        await conn.execute(sa.update(vfolders).where(vfolders.c.id == a.id).values(name=new_name))


async def update_options(ctx: RootContext, acc: Accessor, name: str, *, cloneable: bool | None,
                         permission: VFolderPermission | None) -> None:
    async with ctx.db.begin() as conn:
        a = await resolve(conn, acc, name, for_update=True)
        a.require_owner("change its options")
        a.require_status()
        values: dict[str, Any] = {}
        if cloneable is not None:
            values["cloneable"] = cloneable
        if permission is not None:
            values["permission"] = permission
        if values:
            await require_host_permission(conn, acc, a.host, VFolderHostPermission.MODIFY, group_id=a.row.group)
            await conn.execute(sa.update(vfolders).where(vfolders.c.id == a.id).values(**values))


async def delete(ctx: RootContext, acc: Accessor, name_or_id: str, *, by_id: uuid.UUID | None = None) -> None:
    """Owners (and holders of a 'wd' share) delete; refused while a live session mounts it.
    Given `by_id`, superadmins may delete any vfolder."""
    async with ctx.db.begin() as conn:
        if by_id is not None:
            a = await resolve_privileged(conn, acc, by_id, for_update=True)
        else:
            a = await resolve(conn, acc, name_or_id, for_update=True)
        if not (a.is_owner or a.allows(VFolderPermission.RW_DELETE)):
            raise Forbidden(f"only the owner of vfolder {a.name!r} can delete it")
        # DELETE_ONGOING too: a deletion interrupted midway can be repeated (it is idempotent).
        a.require_status({VFolderStatus.READY, VFolderStatus.MOUNTED, VFolderStatus.ERROR,
                          VFolderStatus.DELETE_ONGOING, VFolderStatus.DELETE_ERROR})
        await require_host_permission(conn, acc, a.host, VFolderHostPermission.DELETE, group_id=a.row.group)
        await _refuse_if_mounted(conn, a)
        await conn.execute(sa.update(vfolders).where(vfolders.c.id == a.id)
                           .values(status=VFolderStatus.DELETE_ONGOING, status_changed=sa.func.now()))
    try:
        async with proxy_call(a.host):
            client, volume = await storage_proxies(ctx).client(a.host)
            try:
                await client.delete_folder(volume, a.vfid)
            except StorageProxyError as e:
                if e.status != 404:   # already gone from the volume: just drop the row
                    raise
    except BaseException:
        async with ctx.db.begin() as conn:
            await conn.execute(sa.update(vfolders).where(vfolders.c.id == a.id)
                               .values(status=VFolderStatus.DELETE_ERROR, status_changed=sa.func.now()))
        raise
    async with ctx.db.begin() as conn:
        await conn.execute(sa.delete(vfolders).where(vfolders.c.id == a.id))
    log.info("vfolder %s (%s) deleted by %s", a.name, a.id, acc.email)


async def _refuse_if_mounted(conn: AsyncConnection, a: VFolderAccess) -> None:
    sessions = await live_mounts_of(conn, a.id)
    if sessions:
        raise VFolderBusy(f"vfolder {a.name!r} is mounted by live sessions: {', '.join(sessions)}; "
                          "terminate them first")


async def clone(ctx: RootContext, acc: Accessor, name: str, *, target_name: str, target_host: str | None,
                usage_mode: VFolderUsageMode, permission: VFolderPermission, cloneable: bool) -> dict[str, Any]:
    """Copy a cloneable vfolder into a new vfolder of the requester (synchronously)."""
    target_name = check_name(target_name, "target name")
    async with ctx.db.begin() as conn:
        src = await resolve(conn, acc, name)
        if not src.row.cloneable:
            raise Forbidden(f"vfolder {src.name!r} does not allow cloning (see update-options --set-cloneable)")
        src.require_status()
        host = target_host or src.host
        parse_host(host)
        if host.split(":", 1)[0] != src.host.split(":", 1)[0]:
            raise InvalidAPIParameters(f"cannot clone across storage proxies ({src.host} -> {host})")
        await _check_types(ctx, "user")
        await require_host_permission(conn, acc, src.host, VFolderHostPermission.DOWNLOAD_FILE, group_id=src.row.group)
        await require_host_permission(conn, acc, host, VFolderHostPermission.CREATE)
        await lock_names(conn, acc.user_uuid)
        await check_name_free(conn, acc, target_name)
        qsid = scope_for(user=acc.user_uuid)
        limits = await limits_of(conn, qsid)
        await check_vfolder_count(conn, qsid, limits)
        folder_id = uuid.uuid4()
        await conn.execute(sa.insert(vfolders).values(
            id=folder_id, host=host, quota_scope_id=str(qsid), name=target_name, usage_mode=usage_mode,
            permission=permission, creator=acc.email, ownership_type=VFolderOwnershipType.USER,
            user=acc.user_uuid, cloneable=cloneable, status=VFolderStatus.CLONING,
        ))
    try:
        async with proxy_call(host), storage_proxies(ctx).long_client(host) as (client, volume):
            await ensure_quota_scope(client, volume, qsid, limits)
            _, src_volume = src.host.split(":", 1)
            await client.clone_folder(src_volume, src.vfid, volume, vfid_of(_Row(folder_id, str(qsid))))
    except BaseException:
        async with ctx.db.begin() as conn:
            await conn.execute(sa.delete(vfolders).where(vfolders.c.id == folder_id))
        raise
    async with ctx.db.begin() as conn:
        await conn.execute(sa.update(vfolders).where(vfolders.c.id == folder_id).values(status=VFolderStatus.READY))
        created = await resolve_by_id(conn, acc, folder_id)
    return item_json(created)


async def change_ownership(ctx: RootContext, acc: Accessor, folder_id: uuid.UUID, new_owner_email: str) -> None:
    """Give a user vfolder to another user (superadmins). Its bytes move into the new owner's
    quota scope, so usage is accounted to them from now on."""
    if not acc.is_superadmin:
        raise Forbidden("only superadmins can change a vfolder's owner")
    async with ctx.db.begin() as conn:
        row = (await conn.execute(sa.select(vfolders).where(vfolders.c.id == folder_id).with_for_update())).first()
        if row is None:
            raise VFolderNotFound(f"no vfolder with id {folder_id}")
        if row.ownership_type != VFolderOwnershipType.USER:
            raise InvalidAPIParameters("only user vfolders can change their owner")
        target = (await conn.execute(
            sa.select(users.c.uuid, users.c.email, users.c.domain_name).where(users.c.email == new_owner_email)
        )).first()
        if target is None:
            raise ObjectNotFound(f"no user with email {new_owner_email!r}")
        if target.uuid == row.user:
            return
        if row.status not in (VFolderStatus.READY, VFolderStatus.MOUNTED):
            raise VFolderBusy(f"vfolder {row.name!r} is {row.status.value}")
        sessions = await live_mounts_of(conn, row.id)
        if sessions:
            raise VFolderBusy(f"vfolder {row.name!r} is mounted by live sessions: {', '.join(sessions)}")
        await lock_names(conn, target.uuid)
        taken = (await conn.execute(sa.select(vfolders.c.id).where(
            (vfolders.c.user == target.uuid) & (vfolders.c.name == row.name)))).first()
        if taken is not None:
            raise Conflict(f"{new_owner_email} already owns a vfolder named {row.name!r}")
        old_vfid, new_qsid = vfid_of(row), scope_for(user=target.uuid)
        new_limits = await limits_of(conn, new_qsid)
        await conn.execute(sa.update(vfolders).where(vfolders.c.id == row.id)
                           .values(status=VFolderStatus.PERFORMING))
    host = row.host
    try:
        async with proxy_call(host), storage_proxies(ctx).long_client(host) as (client, volume):
            await ensure_quota_scope(client, volume, new_qsid, new_limits)
            new_vfid = vfid_of(_Row(row.id, str(new_qsid)))
            await client.clone_folder(volume, old_vfid, volume, new_vfid)
            await client.delete_folder(volume, old_vfid)
    except BaseException:
        async with ctx.db.begin() as conn:
            await conn.execute(sa.update(vfolders).where(vfolders.c.id == row.id).values(status=row.status))
        raise
    async with ctx.db.begin() as conn:
        await conn.execute(sa.update(vfolders).where(vfolders.c.id == row.id).values(
            user=target.uuid, quota_scope_id=str(new_qsid), status=VFolderStatus.READY))
        await conn.execute(sa.delete(vfolder_permissions).where(   # the new owner needs no share
            (vfolder_permissions.c.vfolder == row.id) & (vfolder_permissions.c.user == target.uuid)))
    log.info("vfolder %s (%s) now belongs to %s", row.name, row.id, new_owner_email)
