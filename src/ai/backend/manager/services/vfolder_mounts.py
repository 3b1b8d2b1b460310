"""Which vfolders a compute session mounts, where, and with what permission.

The session lifecycle calls `resolve_session_mounts()` while creating a session, inside the
transaction that inserts the session row; it stores the result in sessions.vfolder_mounts
(and kernels.vfolder_mounts) and passes it to every kernel of the session. The vfolder rows
stay locked FOR SHARE until that transaction ends, and deletion locks them FOR UPDATE and then
looks for live sessions mounting them (`live_mounts_of()`), so a vfolder cannot disappear
between a session choosing it and the session row becoming visible.

Rules (the manual's "Virtual folders"):

- A requested vfolder is named by name or id and must be reachable by the session's owner: their
  own, shared with them, or a vfolder of the session's project.
- It mounts at /home/work/NAME, or where mount_map says (a path under /home/work, relative
  paths are taken from /home/work); every mount_map key is mounted too.
- The permission is the owner's full access (rw) or the share's; a read-only share mounts ro.
- The storage host must allow `mount-in-session` for the owner (domain, project, keypair).
- The owner's user vfolders whose names start with a dot are mounted too, at /home/work/.NAME.
  A `.ssh` vfolder always mounts read-write at /home/work/.ssh, so sshd in the session finds the
  user's own `authorized_keys` there (which must be a regular file) and the agent can set the
  permissions sshd insists on when the session launches.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.agent_types import Mount
from ai.backend.common.status import LIVE_STATUSES
from ai.backend.common.storage_proxy_client import StorageProxyError

from ..context import RootContext
from ..errors import Forbidden, InvalidAPIParameters, VFolderBusy, VFolderNotFound
from ..models import (
    UserRole,
    VFolderHostPermission,
    VFolderOwnershipType,
    VFolderPermission,
    VFolderStatus,
    keypairs,
    users,
    vfolders,
)
from .storage_proxies import proxy_call, storage_proxies
from .vfolder_access import Accessor, VFolderAccess, access_of, accessible_select, as_folder_id
from .vfolder_hosts import allowed_hosts

WORKDIR = "/home/work"
SSH_VFOLDER = ".ssh"
AUTHORIZED_KEYS = "authorized_keys"
MOUNTABLE_STATUSES = frozenset({VFolderStatus.READY, VFolderStatus.MOUNTED, VFolderStatus.PERFORMING,
                                VFolderStatus.CLONING})


def kernel_path_of(name: str, requested: str | None) -> str:
    """/home/work/NAME, or the mount_map target normalised and checked to stay under /home/work."""
    if requested is None or requested == "":
        return posixpath.join(WORKDIR, name)
    if not isinstance(requested, str) or "\0" in requested:
        raise InvalidAPIParameters(f"mount_map[{name!r}]: the target path must be a string")
    if ".." in requested.split("/"):
        raise InvalidAPIParameters(f"mount_map[{name!r}]: {requested!r} must not contain '..'")
    path = posixpath.normpath(requested if requested.startswith("/") else posixpath.join(WORKDIR, requested))
    if not path.startswith(WORKDIR + "/"):
        raise InvalidAPIParameters(f"mount_map[{name!r}]: {requested!r} is not under {WORKDIR}/")
    return path


async def _session_accessor(conn: AsyncConnection, user_uuid: uuid.UUID, access_key: str,
                            domain_name: str) -> Accessor:
    row = (await conn.execute(
        sa.select(users.c.email, users.c.role, users.c.domain_name, keypairs.c.resource_policy)
        .select_from(users.join(keypairs, keypairs.c.user == users.c.uuid))
        .where((users.c.uuid == user_uuid) & (keypairs.c.access_key == access_key))
    )).first()
    if row is None:
        raise InvalidAPIParameters(f"the keypair {access_key} does not belong to user {user_uuid}")
    # Mounting follows the owner's own reach: no admin privileges over others' folders.
    return Accessor(user_uuid, row.email, domain_name, UserRole.USER, access_key, row.resource_policy)


async def _reachable(conn: AsyncConnection, acc: Accessor, group_id: uuid.UUID, names: Sequence[str]) -> list[Any]:
    ids = [i for i in (as_folder_id(n) for n in names) if i is not None]
    cond = vfolders.c.name.in_(list(names)) | (vfolders.c.user == acc.user_uuid) & vfolders.c.name.like(r".%")
    if ids:
        cond = cond | vfolders.c.id.in_(ids)
    # Project vfolders only of the session's project.
    scope = (vfolders.c.ownership_type == VFolderOwnershipType.USER) | (vfolders.c.group == group_id)
    query = accessible_select(acc, with_admin=False).where(cond & scope).with_for_update(of=vfolders, read=True)
    return list((await conn.execute(query.order_by(vfolders.c.created_at))).all())


def _pick(accesses: list[VFolderAccess], acc: Accessor, key: str) -> VFolderAccess:
    folder_id = as_folder_id(key)
    by_id = [a for a in accesses if a.id == folder_id]
    if by_id:
        return by_id[0]
    named = [a for a in accesses if a.name == key]
    if not named:
        raise VFolderNotFound(f"vfolder {key!r} does not exist or is not accessible to the session's owner "
                              "(only the owner's, shared and the session project's vfolders can be mounted)")
    if len(named) > 1:
        own = [a for a in named if a.row.user == acc.user_uuid]
        if len(own) != 1:
            raise InvalidAPIParameters(f"several vfolders named {key!r} are accessible; mount it by id")
        return own[0]
    return named[0]


async def resolve_session_mounts(
    conn: AsyncConnection, ctx: RootContext, *, user_uuid: uuid.UUID, access_key: str, domain_name: str,
    group_id: uuid.UUID, requested: list[str], mount_map: dict[str, str],
) -> list[Mount]:
    """The mounts of a new session (see the module docstring); 4xx errors name the culprit."""
    if not isinstance(mount_map, Mapping):
        raise InvalidAPIParameters("mount_map must be an object of {vfolder: path}")
    keys = list(dict.fromkeys([*requested, *mount_map.keys()]))
    if len(set(requested)) != len(requested):
        raise InvalidAPIParameters(f"a vfolder is listed twice in mounts: {requested}")
    acc = await _session_accessor(conn, user_uuid, access_key, domain_name)
    accesses = [access_of(acc, r) for r in await _reachable(conn, acc, group_id, keys)]

    chosen: dict[uuid.UUID, tuple[VFolderAccess, str | None]] = {}
    for key in keys:
        a = _pick(accesses, acc, key)
        if a.id in chosen:
            raise InvalidAPIParameters(f"vfolder {a.name!r} is requested twice (by name and by id)")
        chosen[a.id] = (a, mount_map.get(key))
    for a in accesses:   # auto-mount the owner's dot-vfolders
        if a.row.user == user_uuid and a.name.startswith(".") and a.id not in chosen \
                and a.row.status in MOUNTABLE_STATUSES:
            chosen[a.id] = (a, None)

    hosts = await allowed_hosts(conn, acc, group_ids=[group_id])
    mounts: list[Mount] = []
    targets: dict[str, str] = {}
    for a, target in chosen.values():
        if a.row.status not in MOUNTABLE_STATUSES:
            raise VFolderBusy(f"vfolder {a.name!r} cannot be mounted while it is {a.row.status.value}")
        if VFolderHostPermission.MOUNT_IN_SESSION not in hosts.get(a.host, set()):
            raise Forbidden(f"vfolder {a.name!r}: the storage host {a.host!r} does not allow "
                            "mount-in-session for you")
        kernel_path = kernel_path_of(a.name, target)
        if a.name == SSH_VFOLDER and a.row.user == user_uuid and kernel_path != f"{WORKDIR}/{SSH_VFOLDER}":
            raise InvalidAPIParameters(f"the {SSH_VFOLDER} vfolder always mounts at {WORKDIR}/{SSH_VFOLDER}")
        if kernel_path in targets:
            raise InvalidAPIParameters(f"vfolders {targets[kernel_path]!r} and {a.name!r} would both mount "
                                       f"at {kernel_path}")
        targets[kernel_path] = a.name
        perm = VFolderPermission.READ_WRITE if a.is_owner else a.permission
        if a.name == SSH_VFOLDER and a.row.user == user_uuid:
            perm = VFolderPermission.READ_WRITE
        mounts.append(Mount(host_path=await _host_path(ctx, a), kernel_path=kernel_path,
                            permission="ro" if perm == VFolderPermission.READ_ONLY else "rw",
                            name=a.name, vfolder_id=str(a.id)))
        if a.name == SSH_VFOLDER and a.row.user == user_uuid:
            await _check_authorized_keys(ctx, a)
    return mounts


async def _host_path(ctx: RootContext, a: VFolderAccess) -> str:
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        try:
            return await client.get_mount_path(volume, a.vfid)
        except StorageProxyError as e:
            if e.status == 404:
                raise VFolderNotFound(f"vfolder {a.name!r} is missing on its storage volume {a.host!r}") from None
            raise


async def _check_authorized_keys(ctx: RootContext, a: VFolderAccess) -> None:
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        try:
            entry = await client.stat(volume, a.vfid, AUTHORIZED_KEYS)
        except StorageProxyError as e:
            if e.status == 404:
                return      # no keys of the user's own: the session's generated keypair is used
            if e.status == 400:
                raise InvalidAPIParameters(f"{SSH_VFOLDER}/{AUTHORIZED_KEYS}: {e.msg}") from None
            raise
    if entry.type != "file":
        raise InvalidAPIParameters(f"{SSH_VFOLDER}/{AUTHORIZED_KEYS} must be a regular file, not a {entry.type}")


# --- live mounts ------------------------------------------------------------------------------

_LIVE_MOUNTS_SQL = """
SELECT s.id, s.name, s.status FROM {table} s
WHERE s.status IN :live AND EXISTS (
  SELECT 1 FROM jsonb_array_elements(
    CASE WHEN jsonb_typeof(s.vfolder_mounts) = 'array' THEN s.vfolder_mounts ELSE '[]'::jsonb END) AS m
  WHERE m->>'vfolder_id' IN (:id, :hex) OR m->>'host_path' LIKE :suffix)
"""


async def live_mounts_of(conn: AsyncConnection, vfolder_id: uuid.UUID) -> list[str]:
    """Names of live sessions (or sessions of live kernels) that mount the vfolder.

    A mount is recognised by its vfolder_id, or by its host path ending in the vfolder's
    sharded directory (the layout every volume uses), whichever the session row kept.
    """
    h = vfolder_id.hex
    params = {"live": [s.value for s in LIVE_STATUSES], "id": str(vfolder_id), "hex": h,
              "suffix": f"%/{h[0:2]}/{h[2:4]}/{h[4:]}"}
    names: list[str] = []
    for table, name_col in (("sessions", "name"), ("kernels", "session_name")):
        sql = sa.text(_LIVE_MOUNTS_SQL.format(table=table).replace("s.name", f"s.{name_col} AS name")) \
            .bindparams(sa.bindparam("live", expanding=True))
        for row in (await conn.execute(sql, params)).all():
            label = f"{row.name or row.id} ({row.status})"
            if label not in names:
                names.append(label)
    return names
