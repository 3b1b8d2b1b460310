"""File operations inside a vfolder and the tokens for uploads and downloads.

The manager checks who may do what (the vfolder permission and the host's actions) and
forwards the operation to the storage proxy, which resolves every path inside the vfolder
and refuses `..`, absolute paths and symlinks leading out of it. Bytes never pass through
the manager: users get a token and the proxy's client-facing URL instead.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from typing import Any

from ..context import RootContext
from ..errors import QuotaExceeded
from ..models import VFolderHostPermission, VFolderPermission
from .storage_proxies import proxy_call, storage_proxies
from .vfolder_access import READABLE_STATUSES, Accessor, VFolderAccess, resolve
from .vfolder_hosts import require_host_permission


async def _writable(ctx: RootContext, acc: Accessor, name: str, action: VFolderHostPermission) -> VFolderAccess:
    async with ctx.db.connect() as conn:
        a = await resolve(conn, acc, name)
        a.require(VFolderPermission.READ_WRITE)
        a.require_status()
        await require_host_permission(conn, acc, a.host, action, group_id=a.row.group)
    return a


async def _readable(ctx: RootContext, acc: Accessor, name: str,
                    action: VFolderHostPermission | None = None) -> VFolderAccess:
    async with ctx.db.connect() as conn:
        a = await resolve(conn, acc, name)
        a.require_status(READABLE_STATUSES)
        if action is not None:
            await require_host_permission(conn, acc, a.host, action, group_id=a.row.group)
    return a


async def mkdir(ctx: RootContext, acc: Accessor, name: str, path: str, *, parents: bool, exist_ok: bool) -> None:
    a = await _writable(ctx, acc, name, VFolderHostPermission.UPLOAD_FILE)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        await client.mkdir(volume, a.vfid, path, parents=parents, exist_ok=exist_ok)


async def list_files(ctx: RootContext, acc: Accessor, name: str, path: str) -> dict[str, Any]:
    """`items` (name, type, size, mode, times) and `files`, the JSON string older clients read."""
    a = await _readable(ctx, acc, name)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        listing = await client.list_files(volume, a.vfid, path or ".")
    items = [{"name": e.filename, "type": "DIRECTORY" if e.type == "dir" else e.type.upper(), "size": e.size,
              "mode": stat.filemode(e.mode), "created": e.ctime, "modified": e.mtime,
              "symlink_target": e.symlink_target} for e in listing.items]
    files = [{"filename": e.filename, "size": e.size, "mode": stat.filemode(e.mode), "ctime": e.ctime,
              "atime": e.atime, "mtime": e.mtime} for e in listing.items]
    return {"items": items, "files": json.dumps(files), "truncated": listing.truncated}


async def rename_file(ctx: RootContext, acc: Accessor, name: str, target_path: str, new_name: str) -> None:
    a = await _writable(ctx, acc, name, VFolderHostPermission.UPLOAD_FILE)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        await client.rename_file(volume, a.vfid, target_path, new_name)


async def move_file(ctx: RootContext, acc: Accessor, name: str, src: str, dst: str) -> None:
    a = await _writable(ctx, acc, name, VFolderHostPermission.UPLOAD_FILE)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        await client.move_file(volume, a.vfid, src, dst)


async def delete_files(ctx: RootContext, acc: Accessor, name: str, files: Sequence[str], *, recursive: bool) -> None:
    a = await _writable(ctx, acc, name, VFolderHostPermission.UPLOAD_FILE)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        await client.delete_files(volume, a.vfid, files, recursive=recursive)


async def request_upload(ctx: RootContext, acc: Accessor, name: str, path: str, size: int) -> dict[str, Any]:
    """A tus upload token for one file; refused at once if it cannot fit (no partial file)."""
    a = await _writable(ctx, acc, name, VFolderHostPermission.UPLOAD_FILE)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        if a.row.max_size:
            used = await client.get_used_bytes(volume, a.vfid)
            if used + size > a.row.max_size:
                raise QuotaExceeded(f"vfolder {a.name!r} is limited to {a.row.max_size} bytes and holds "
                                    f"{used}; {size} more do not fit")
        token = await client.issue_upload(volume, a.vfid, path, size)
    return {"token": token.token, "url": token.url, "expires_at": token.expires_at.isoformat()}


async def request_download(ctx: RootContext, acc: Accessor, name: str, path: str, *, archive: bool) -> dict[str, Any]:
    """A download token for one file (or, with `archive`, a directory as a zip)."""
    a = await _readable(ctx, acc, name, VFolderHostPermission.DOWNLOAD_FILE)
    async with proxy_call(a.host):
        client, volume = await storage_proxies(ctx).client(a.host)
        token = await client.issue_download(volume, a.vfid, path, archive=archive)
    return {"token": token.token, "url": token.url, "expires_at": token.expires_at.isoformat(),
            "archive": token.archive, "size": token.size}
