"""The volume backend interface: a volume (vfolder lifecycle), its quota model and file operations.

A backend plugs in by subclassing AbstractVolume and providing an AbstractQuotaModel; the
POSIX file operations (fileops.PosixFSOps) serve every backend that exposes a local or NFS
mount. Layout inside a volume (the manual's "Quota scopes"):

    <volume path>/<quota scope uuid hex>/<vfolder hex[0:2]>/<[2:4]>/<[4:]>

Next to the shard directories a quota scope keeps its bookkeeping in dot-directories that
are never mounted into sessions: `.upload` (tus temp files), `.meta` (vfolder metadata) and
`.trash` (vfolders being deleted).
"""

from __future__ import annotations

import enum
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from ai.backend.common.storage_types import QuotaScopeID, VFolderID, VolumeCapability

QUOTA_FILE = ".quota"   # vfs: the scope's limit
META_DIR = ".meta"      # vfolder metadata blobs
UPLOAD_DIR = ".upload"  # tus temp files and session records
TRASH_DIR = ".trash"    # vfolders being deleted


@dataclass(frozen=True)
class QuotaUsage:
    used_bytes: int
    limit_bytes: int | None  # None: no limit set


@dataclass(frozen=True)
class FSUsage:
    capacity_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class VFolderUsage:
    file_count: int
    used_bytes: int


class EntryType(enum.StrEnum):
    FILE = "file"
    DIRECTORY = "dir"
    SYMLINK = "symlink"
    OTHER = "other"

    @classmethod
    def of(cls, mode: int) -> EntryType:
        if stat.S_ISREG(mode):
            return cls.FILE
        if stat.S_ISDIR(mode):
            return cls.DIRECTORY
        if stat.S_ISLNK(mode):
            return cls.SYMLINK
        return cls.OTHER


@dataclass(frozen=True)
class DirEntry:
    """One entry of a directory listing (the manual's Virtual Folder File Object plus `type`)."""

    filename: str
    type: EntryType
    size: int
    mode: int
    ctime: float
    mtime: float
    atime: float
    symlink_target: str | None = None

    @classmethod
    def from_stat(cls, name: str, st: os.stat_result, symlink_target: str | None = None) -> DirEntry:
        return cls(name, EntryType.of(st.st_mode), st.st_size, st.st_mode,
                   st.st_ctime, st.st_mtime, st.st_atime, symlink_target)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["type"] = self.type.value
        return d


@dataclass(frozen=True)
class DirListing:
    entries: list[DirEntry]
    truncated: bool  # more entries than scandir-limit


@dataclass
class OpenedFile:
    """An open regular file for download; the caller owns and closes `fd`."""

    fd: int
    stat: os.stat_result
    name: str


class AbstractQuotaModel(ABC):
    """Quota scopes of one volume: a directory per user/project with a hard limit in bytes."""

    @abstractmethod
    async def create_quota_scope(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        """Create the scope (QuotaScopeAlreadyExists if it exists)."""

    @abstractmethod
    async def ensure_quota_scope(self, qsid: QuotaScopeID) -> None:
        """Create the scope without a limit if it does not exist yet."""

    @abstractmethod
    async def describe_quota_scope(self, qsid: QuotaScopeID) -> QuotaUsage:
        """Usage and limit (QuotaScopeNotFound if absent)."""

    @abstractmethod
    async def update_quota_scope(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        """Set (or with None, remove) the hard limit."""

    @abstractmethod
    async def delete_quota_scope(self, qsid: QuotaScopeID) -> None:
        """Remove an empty scope (QuotaScopeNotEmpty while vfolders remain)."""

    @abstractmethod
    async def ensure_space(self, qsid: QuotaScopeID, extra_bytes: int, reserved_bytes: int = 0) -> None:
        """Raise QuotaExceeded unless `extra_bytes` more (besides `reserved_bytes` already
        promised to unfinished uploads) fit under the scope's limit."""


class AbstractFSOps(ABC):
    """File operations inside one vfolder; every path is relative and checked (paths.py)."""

    @abstractmethod
    async def mkdir(self, vfid: VFolderID, relpath: str, *, parents: bool, exist_ok: bool) -> None: ...

    @abstractmethod
    async def scandir(self, vfid: VFolderID, relpath: str, *, limit: int) -> DirListing: ...

    @abstractmethod
    async def rename(self, vfid: VFolderID, relpath: str, new_name: str) -> None: ...

    @abstractmethod
    async def move(self, vfid: VFolderID, src_relpath: str, dst_relpath: str) -> None: ...

    @abstractmethod
    async def delete(self, vfid: VFolderID, relpaths: Sequence[str], *, recursive: bool) -> None: ...

    @abstractmethod
    async def stat(self, vfid: VFolderID, relpath: str) -> DirEntry: ...

    @abstractmethod
    async def open_file(self, vfid: VFolderID, relpath: str) -> OpenedFile: ...

    @abstractmethod
    def walk_for_archive(self, vfid: VFolderID, relpath: str) -> Iterator[tuple[str, int | None]]:
        """(archive name, open fd or None for a directory) for everything under a directory.

        Blocking: runs in the archive writer's thread. The consumer closes each fd.
        """


class AbstractVolume(ABC):
    backend: ClassVar[str]

    def __init__(self, name: str, path: Path, options: Mapping[str, Any], *,
                 owner: tuple[int, int] | None = None) -> None:
        self.name = name
        self.path = path
        self.options = dict(options)
        self.owner = owner  # (uid, gid) for new directories and files, when running as root

    @property
    @abstractmethod
    def quota_model(self) -> AbstractQuotaModel: ...

    @property
    @abstractmethod
    def fsops(self) -> AbstractFSOps: ...

    @property
    @abstractmethod
    def capabilities(self) -> frozenset[VolumeCapability]: ...

    @abstractmethod
    async def init(self) -> None:
        """Check the volume is usable; raise VolumeInitError with a clear message otherwise."""

    @abstractmethod
    async def shutdown(self) -> None:
        """Finish background work (e.g. deletions) before the process exits."""

    def quota_scope_path(self, qsid: QuotaScopeID) -> Path:
        return self.path / qsid.pathname

    def mangle_vfpath(self, vfid: VFolderID) -> Path:
        h = vfid.folder_id.hex
        return self.quota_scope_path(vfid.quota_scope_id) / h[0:2] / h[2:4] / h[4:]

    def upload_dir(self, qsid: QuotaScopeID) -> Path:
        """Where tus temp files of a scope live: same file system and quota as its vfolders."""
        return self.quota_scope_path(qsid) / UPLOAD_DIR

    @abstractmethod
    async def create_vfolder(self, vfid: VFolderID) -> None: ...

    @abstractmethod
    async def delete_vfolder(self, vfid: VFolderID) -> None: ...

    @abstractmethod
    async def clone_vfolder(self, src_vfid: VFolderID, dst_volume: AbstractVolume,
                            dst_vfid: VFolderID) -> None: ...

    @abstractmethod
    async def vfolder_exists(self, vfid: VFolderID) -> bool: ...

    @abstractmethod
    async def get_metadata(self, vfid: VFolderID) -> bytes: ...

    @abstractmethod
    async def put_metadata(self, vfid: VFolderID, payload: bytes) -> None: ...

    @abstractmethod
    async def get_usage(self, vfid: VFolderID) -> VFolderUsage: ...

    @abstractmethod
    async def get_fs_usage(self) -> FSUsage: ...


class VolumeInitError(Exception):
    """The volume cannot be served as configured (message says what to fix)."""
