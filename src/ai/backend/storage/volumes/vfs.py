"""The `vfs` backend: any local or NFS directory.

Quota scopes are plain directories; their hard limit is kept in `<scope>/.quota` and enforced
by the proxy itself: an upload is accepted only if the scope's scanned usage, plus what
unfinished uploads have already reserved, plus the new size fits. (Writes made from inside
sessions are not limited by vfs; use the xfs backend for a kernel-enforced limit.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ai.backend.common.storage_types import QuotaScopeID, VFolderID, VolumeCapability

from ..errors import (
    InvalidAPIParameters,
    QuotaExceeded,
    QuotaScopeAlreadyExists,
    QuotaScopeNotEmpty,
    QuotaScopeNotFound,
    VFolderAlreadyExists,
    VFolderNotFound,
)
from ..paths import opened
from .abc import (
    META_DIR,
    QUOTA_FILE,
    TRASH_DIR,
    UPLOAD_DIR,
    AbstractFSOps,
    AbstractQuotaModel,
    AbstractVolume,
    FSUsage,
    QuotaUsage,
    VFolderUsage,
    VolumeInitError,
)
from .fileops import PosixFSOps
from .treeops import copy_tree, scan_usage

log = logging.getLogger(__name__)

BOOKKEEPING = frozenset({QUOTA_FILE, META_DIR, UPLOAD_DIR})  # not scanned as usage
MAX_METADATA_SIZE = 64 * 1024


def _open_dir_path(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


async def in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


class VfsQuotaModel(AbstractQuotaModel):
    def __init__(self, volume: VfsVolume) -> None:
        self.volume = volume

    def _path(self, qsid: QuotaScopeID) -> Path:
        return self.volume.quota_scope_path(qsid)

    def _require(self, qsid: QuotaScopeID) -> Path:
        path = self._path(qsid)
        if not path.is_dir():
            raise QuotaScopeNotFound(f"quota scope {qsid} does not exist on volume {self.volume.name!r}")
        return path

    def read_limit(self, qsid: QuotaScopeID) -> int | None:
        try:
            raw = (self._path(qsid) / QUOTA_FILE).read_bytes()
        except FileNotFoundError:
            return None
        limit = json.loads(raw).get("limit_bytes")
        return int(limit) if limit is not None else None

    def _write_limit(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        path = self._path(qsid) / QUOTA_FILE
        if limit_bytes is None:
            path.unlink(missing_ok=True)
        else:
            _write_atomically(path, json.dumps({"limit_bytes": limit_bytes}).encode())

    def scan_used_bytes(self, qsid: QuotaScopeID) -> int:
        """Everything in the scope's vfolders and trash, plus unfinished upload data."""
        path = self._require(qsid)
        with opened(_open_dir_path(path)) as fd:
            used = scan_usage(fd, skip_top=BOOKKEEPING).used_bytes
        for part in (path / UPLOAD_DIR).glob("*.part"):
            try:
                used += part.stat().st_size
            except FileNotFoundError:
                pass
        return used

    async def create_quota_scope(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        path = self._path(qsid)
        try:
            await in_thread(self.volume.make_dir, path)
        except FileExistsError:
            raise QuotaScopeAlreadyExists(f"quota scope {qsid} already exists on volume {self.volume.name!r}") from None
        if limit_bytes is not None:
            await in_thread(self._write_limit, qsid, limit_bytes)

    async def ensure_quota_scope(self, qsid: QuotaScopeID) -> None:
        try:
            await self.create_quota_scope(qsid, None)
        except QuotaScopeAlreadyExists:
            pass

    async def describe_quota_scope(self, qsid: QuotaScopeID) -> QuotaUsage:
        used = await in_thread(self.scan_used_bytes, qsid)
        return QuotaUsage(used_bytes=used, limit_bytes=self.read_limit(qsid))

    async def update_quota_scope(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        self._require(qsid)
        await in_thread(self._write_limit, qsid, limit_bytes)

    async def delete_quota_scope(self, qsid: QuotaScopeID) -> None:
        path = self._require(qsid)
        if self.volume.list_vfolder_dirs(qsid):
            raise QuotaScopeNotEmpty(f"quota scope {qsid} still holds vfolders; delete them first")
        await self.volume.wait_cleanups()
        await in_thread(shutil.rmtree, path)

    async def ensure_space(self, qsid: QuotaScopeID, extra_bytes: int, reserved_bytes: int = 0) -> None:
        limit = self.read_limit(qsid)
        if limit is None:
            return
        used = await in_thread(self.scan_used_bytes, qsid)
        check_fits(qsid, limit, used, reserved_bytes, extra_bytes)


def check_fits(qsid: QuotaScopeID, limit: int, used: int, reserved: int, extra: int) -> None:
    if used + reserved + extra > limit:
        raise QuotaExceeded(
            f"quota scope {qsid}: {extra} more bytes do not fit (limit {limit}, used {used}, "
            f"reserved by unfinished uploads {reserved})",
            data={"limit_bytes": limit, "used_bytes": used, "reserved_bytes": reserved,
                  "requested_bytes": extra},
        )


class VfsVolume(AbstractVolume):
    backend = "vfs"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._quota_model: AbstractQuotaModel = self.make_quota_model()
        self._fsops = PosixFSOps(self)
        self._cleanup_tasks: set[asyncio.Task[None]] = set()

    def make_quota_model(self) -> AbstractQuotaModel:
        return VfsQuotaModel(self)

    @property
    def quota_model(self) -> AbstractQuotaModel:
        return self._quota_model

    @property
    def fsops(self) -> AbstractFSOps:
        return self._fsops

    @property
    def capabilities(self) -> frozenset[VolumeCapability]:
        return frozenset({VolumeCapability.VFOLDER, VolumeCapability.QUOTA})

    async def init(self) -> None:
        if not self.path.exists():
            log.info("volume %s: creating %s", self.name, self.path)
            self.path.mkdir(parents=True, exist_ok=True)
        if not self.path.is_dir():
            raise VolumeInitError(f"volume {self.name!r}: {self.path} is not a directory")
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise VolumeInitError(f"volume {self.name!r}: {self.path} is not writable by this process")
        for trash in self.path.glob(f"*/{TRASH_DIR}/*"):
            self._spawn_cleanup(trash)  # leftovers of deletions interrupted by a restart

    async def shutdown(self) -> None:
        for task in list(self._cleanup_tasks):
            task.cancel()
        await asyncio.gather(*self._cleanup_tasks, return_exceptions=True)

    async def wait_cleanups(self) -> None:
        """Wait until background deletions of trashed vfolders have finished."""
        await asyncio.gather(*self._cleanup_tasks, return_exceptions=True)

    # --- helpers ------------------------------------------------------------------------

    def make_dir(self, path: Path, *, parents: bool = False) -> None:
        """mkdir owned by the configured user/group (FileExistsError if it exists)."""
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o755)
        if self.owner:
            os.chown(path, *self.owner, follow_symlinks=False)

    def list_vfolder_dirs(self, qsid: QuotaScopeID) -> list[Path]:
        base = self.quota_scope_path(qsid)
        return [p for p in base.glob("??/??/*") if p.is_dir() and not p.name.startswith(".")]

    def _metadata_path(self, vfid: VFolderID) -> Path:
        return self.quota_scope_path(vfid.quota_scope_id) / META_DIR / vfid.folder_id.hex

    def _spawn_cleanup(self, path: Path) -> None:
        task = asyncio.create_task(in_thread(shutil.rmtree, path, True))
        self._cleanup_tasks.add(task)
        task.add_done_callback(self._cleanup_tasks.discard)

    def _require_vfolder(self, vfid: VFolderID) -> Path:
        path = self.mangle_vfpath(vfid)
        if not path.is_dir() or path.is_symlink():
            raise VFolderNotFound(f"vfolder {vfid} does not exist on volume {self.name!r}")
        return path

    # --- vfolders -----------------------------------------------------------------------

    async def create_vfolder(self, vfid: VFolderID) -> None:
        await self.quota_model.ensure_quota_scope(vfid.quota_scope_id)
        path = self.mangle_vfpath(vfid)

        def _create() -> None:
            for parent in (path.parent.parent, path.parent):
                try:
                    self.make_dir(parent)
                except FileExistsError:
                    pass
            self.make_dir(path)

        try:
            await in_thread(_create)
        except FileExistsError:
            raise VFolderAlreadyExists(f"vfolder {vfid} already exists on volume {self.name!r}") from None

    async def delete_vfolder(self, vfid: VFolderID) -> None:
        path = self._require_vfolder(vfid)
        trash = self.quota_scope_path(vfid.quota_scope_id) / TRASH_DIR
        target = trash / uuid.uuid4().hex

        def _move_to_trash() -> None:
            trash.mkdir(exist_ok=True)
            os.rename(path, target)  # the vfolder disappears at once; its bytes go in background
            self._metadata_path(vfid).unlink(missing_ok=True)
            for parent in (path.parent, path.parent.parent):
                try:
                    parent.rmdir()
                except OSError:
                    break

        await in_thread(_move_to_trash)
        self._spawn_cleanup(target)

    async def clone_vfolder(self, src_vfid: VFolderID, dst_volume: AbstractVolume,
                            dst_vfid: VFolderID) -> None:
        if not isinstance(dst_volume, VfsVolume):
            raise InvalidAPIParameters(f"cannot clone into volume {dst_volume.name!r} ({dst_volume.backend})")
        src_path = self._require_vfolder(src_vfid)
        usage = await self.get_usage(src_vfid)
        await dst_volume.quota_model.ensure_quota_scope(dst_vfid.quota_scope_id)
        await dst_volume.quota_model.ensure_space(dst_vfid.quota_scope_id, usage.used_bytes)
        await dst_volume.create_vfolder(dst_vfid)
        dst_path = dst_volume.mangle_vfpath(dst_vfid)

        def _copy() -> None:
            with opened(_open_dir_path(src_path)) as sfd, opened(_open_dir_path(dst_path)) as dfd:
                copy_tree(sfd, dfd, owner=dst_volume.owner)

        try:
            await in_thread(_copy)
        except BaseException:
            await dst_volume.delete_vfolder(dst_vfid)
            raise
        try:
            await dst_volume.put_metadata(dst_vfid, await self.get_metadata(src_vfid))
        except VFolderNotFound:
            pass

    async def vfolder_exists(self, vfid: VFolderID) -> bool:
        try:
            self._require_vfolder(vfid)
        except VFolderNotFound:
            return False
        return True

    async def get_metadata(self, vfid: VFolderID) -> bytes:
        self._require_vfolder(vfid)
        try:
            return self._metadata_path(vfid).read_bytes()
        except FileNotFoundError:
            return b""

    async def put_metadata(self, vfid: VFolderID, payload: bytes) -> None:
        self._require_vfolder(vfid)
        if len(payload) > MAX_METADATA_SIZE:
            raise InvalidAPIParameters(f"metadata is limited to {MAX_METADATA_SIZE} bytes")
        path = self._metadata_path(vfid)

        def _put() -> None:
            try:
                self.make_dir(path.parent)
            except FileExistsError:
                pass
            _write_atomically(path, payload)

        await in_thread(_put)

    async def get_usage(self, vfid: VFolderID) -> VFolderUsage:
        path = self._require_vfolder(vfid)

        def _scan() -> VFolderUsage:
            with opened(_open_dir_path(path)) as fd:
                u = scan_usage(fd)
            return VFolderUsage(file_count=u.file_count, used_bytes=u.used_bytes)

        return await in_thread(_scan)

    async def get_fs_usage(self) -> FSUsage:
        st = await in_thread(os.statvfs, self.path)
        return FSUsage(capacity_bytes=st.f_blocks * st.f_frsize,
                       used_bytes=(st.f_blocks - st.f_bfree) * st.f_frsize)
