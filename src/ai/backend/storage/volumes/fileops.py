"""File operations inside a vfolder on any POSIX file system (local disk, NFS, XFS...).

Each operation opens the vfolder root, resolves the user's relative path beneath it with
paths.open_beneath (no `..`, no absolute paths, no escaping symlinks) and then acts on the
entry through its parent directory's file descriptor. Blocking calls run in a thread.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from ai.backend.common.storage_types import VFolderID

from ..errors import (
    FileAlreadyExists,
    InvalidAPIParameters,
    InvalidPath,
    StorageError,
    VFolderNotFound,
    from_os_error,
)
from ..paths import (
    UnsafePathError,
    makedirs_beneath,
    open_beneath,
    open_dir,
    opened,
    parent_dir,
    split_relpath,
)
from .abc import AbstractFSOps, DirEntry, DirListing, OpenedFile
from .treeops import walk_files

if TYPE_CHECKING:
    from .abc import AbstractVolume

T = TypeVar("T")


def check_entry_name(name: str) -> str:
    """A single path component for renames: no slashes, not '.' or '..'."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\x00" in name:
        raise InvalidPath(f"invalid file name {name!r}: must be one path component")
    return name


@contextmanager
def _translate_errors(relpath: str) -> Iterator[None]:
    try:
        yield
    except StorageError:
        raise
    except UnsafePathError as e:
        raise InvalidPath(str(e)) from None
    except OSError as e:
        raise from_os_error(e, relpath or ".") from None


def refuse_escape(root: int, parts: tuple[str, ...]) -> None:
    """Raise UnsafePathError if `parts`, following symlinks, leads outside the vfolder.

    Operations on an entry itself (rename, move, delete) check this too, so a symlink that
    points outside is refused by every file operation, not only by reads and writes.
    """
    try:
        os.close(open_beneath(root, parts, os.O_PATH))
    except (FileNotFoundError, NotADirectoryError):
        pass


class PosixFSOps(AbstractFSOps):
    def __init__(self, volume: AbstractVolume) -> None:
        self.volume = volume

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def open_root(self, vfid: VFolderID) -> int:
        """An O_PATH descriptor of the vfolder directory (VFolderNotFound if absent)."""
        path = self.volume.mangle_vfpath(vfid)
        try:
            return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            raise VFolderNotFound(f"vfolder {vfid} does not exist on volume {self.volume.name!r}") from None

    # --- operations (blocking bodies) ---------------------------------------------------

    def _mkdir(self, vfid: VFolderID, relpath: str, parents: bool, exist_ok: bool) -> None:
        parts = split_relpath(relpath, allow_root=False)
        owner = self.volume.owner
        with opened(self.open_root(vfid)) as root:
            if parents:
                os.close(makedirs_beneath(root, parts[:-1], owner=owner))
            with parent_dir(root, parts) as (pfd, name):
                try:
                    os.mkdir(name, 0o755, dir_fd=pfd)
                except FileExistsError:
                    refuse_escape(root, parts)
                    try:
                        st = os.stat(name, dir_fd=pfd)
                    except FileNotFoundError:  # a dangling symlink inside the vfolder
                        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    if exist_ok and stat.S_ISDIR(st.st_mode):
                        return
                    kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
                    raise FileAlreadyExists(f"{relpath}: a {kind} already exists there") from None
                if owner:
                    os.chown(name, *owner, dir_fd=pfd, follow_symlinks=False)

    def _scandir(self, vfid: VFolderID, relpath: str, limit: int) -> DirListing:
        parts = split_relpath(relpath)
        entries: list[DirEntry] = []
        truncated = False
        with opened(self.open_root(vfid)) as root, opened(open_dir(root, parts)) as dfd, \
                os.scandir(dfd) as it:
            for entry in it:
                if len(entries) >= limit:
                    truncated = True
                    break
                try:
                    st = os.stat(entry.name, dir_fd=dfd, follow_symlinks=False)
                    target = os.readlink(entry.name, dir_fd=dfd) if stat.S_ISLNK(st.st_mode) else None
                except FileNotFoundError:
                    continue
                entries.append(DirEntry.from_stat(entry.name, st, target))
        entries.sort(key=lambda e: e.filename)
        return DirListing(entries, truncated)

    def _rename(self, vfid: VFolderID, relpath: str, new_name: str) -> None:
        parts = split_relpath(relpath, allow_root=False)
        check_entry_name(new_name)
        with opened(self.open_root(vfid)) as root, parent_dir(root, parts) as (pfd, name):
            os.stat(name, dir_fd=pfd, follow_symlinks=False)  # ENOENT -> 404
            refuse_escape(root, parts)
            if name == new_name:
                return
            try:
                os.stat(new_name, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                pass
            else:
                raise FileAlreadyExists(f"{new_name}: already exists next to {relpath}")
            os.rename(name, new_name, src_dir_fd=pfd, dst_dir_fd=pfd)

    def _move(self, vfid: VFolderID, src_relpath: str, dst_relpath: str) -> None:
        src = split_relpath(src_relpath, allow_root=False)
        dst = split_relpath(dst_relpath, allow_root=False)
        if dst[: len(src)] == src:
            raise InvalidAPIParameters(f"cannot move {src_relpath!r} into itself ({dst_relpath!r})")
        with opened(self.open_root(vfid)) as root, parent_dir(root, src) as (spfd, sname):
            os.stat(sname, dir_fd=spfd, follow_symlinks=False)  # ENOENT -> 404
            refuse_escape(root, src)
            try:
                dfd = open_dir(root, dst)  # an existing directory: move into it
                dname = sname
            except (FileNotFoundError, NotADirectoryError):
                dfd = open_dir(root, dst[:-1])
                dname = dst[-1]
            with opened(dfd):
                try:
                    os.stat(dname, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    pass
                else:
                    raise FileAlreadyExists(f"{dst_relpath}: the destination already exists")
                os.rename(sname, dname, src_dir_fd=spfd, dst_dir_fd=dfd)

    def _delete(self, vfid: VFolderID, relpaths: Sequence[str], recursive: bool) -> None:
        all_parts = [split_relpath(p, allow_root=False) for p in relpaths]
        with opened(self.open_root(vfid)) as root:
            for relpath, parts in zip(relpaths, all_parts, strict=True):  # all must exist first
                with _translate_errors(relpath), parent_dir(root, parts) as (pfd, name):
                    os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    refuse_escape(root, parts)
            for relpath, parts in zip(relpaths, all_parts, strict=True):
                with _translate_errors(relpath), parent_dir(root, parts) as (pfd, name):
                    try:
                        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # listed twice, or inside a directory deleted just before
                    if not stat.S_ISDIR(st.st_mode):
                        os.unlink(name, dir_fd=pfd)
                    elif recursive:
                        shutil.rmtree(name, dir_fd=pfd)
                    else:
                        try:
                            os.rmdir(name, dir_fd=pfd)
                        except OSError as e:
                            if e.errno == errno.ENOTEMPTY:
                                raise InvalidAPIParameters(
                                    f"{relpath}: is a non-empty directory; set recursive to delete it"
                                ) from None
                            raise

    def _stat(self, vfid: VFolderID, relpath: str) -> DirEntry:
        parts = split_relpath(relpath)
        with opened(self.open_root(vfid)) as root, opened(open_beneath(root, parts, os.O_PATH)) as fd:
            return DirEntry.from_stat(parts[-1] if parts else ".", os.fstat(fd))

    def _open_file(self, vfid: VFolderID, relpath: str) -> OpenedFile:
        parts = split_relpath(relpath, allow_root=False)
        with opened(self.open_root(vfid)) as root:
            fd = open_beneath(root, parts, os.O_RDONLY | os.O_NONBLOCK)  # a fifo must not block us
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise InvalidAPIParameters(f"{relpath}: not a regular file")
        return OpenedFile(fd, st, parts[-1])

    # --- async interface ----------------------------------------------------------------

    async def _call(self, relpath: str, fn: Callable[..., T], *args: object) -> T:
        def body() -> T:
            with _translate_errors(relpath):
                return fn(*args)
        return await self._run(body)

    async def mkdir(self, vfid: VFolderID, relpath: str, *, parents: bool, exist_ok: bool) -> None:
        await self._call(relpath, self._mkdir, vfid, relpath, parents, exist_ok)

    async def scandir(self, vfid: VFolderID, relpath: str, *, limit: int) -> DirListing:
        return await self._call(relpath, self._scandir, vfid, relpath, limit)

    async def rename(self, vfid: VFolderID, relpath: str, new_name: str) -> None:
        await self._call(relpath, self._rename, vfid, relpath, new_name)

    async def move(self, vfid: VFolderID, src_relpath: str, dst_relpath: str) -> None:
        await self._call(f"{src_relpath} -> {dst_relpath}", self._move, vfid, src_relpath, dst_relpath)

    async def delete(self, vfid: VFolderID, relpaths: Sequence[str], *, recursive: bool) -> None:
        await self._call(", ".join(relpaths), self._delete, vfid, list(relpaths), recursive)

    async def stat(self, vfid: VFolderID, relpath: str) -> DirEntry:
        return await self._call(relpath, self._stat, vfid, relpath)

    async def open_file(self, vfid: VFolderID, relpath: str) -> OpenedFile:
        return await self._call(relpath, self._open_file, vfid, relpath)

    def walk_for_archive(self, vfid: VFolderID, relpath: str) -> Iterator[tuple[str, int | None]]:
        parts = split_relpath(relpath)
        with _translate_errors(relpath), opened(self.open_root(vfid)) as root:
            dfd = open_dir(root, parts)
        with opened(dfd):
            yield from walk_files(dfd)
