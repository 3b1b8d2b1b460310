"""Identifiers shared by the manager and the storage proxy: quota scopes, vfolder ids, volume hosts.

A quota scope is the owner of storage usage (`user:<uuid>` or `project:<uuid>`); a vfolder id
names the quota scope it is accounted to plus the folder's own UUID (`user:<uuid>/<hex>`). A
volume host as users see it is `PROXY:VOLUME` (e.g. "local:volume1").
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass


class QuotaScopeType(enum.StrEnum):
    USER = "user"
    PROJECT = "project"


@dataclass(frozen=True)
class QuotaScopeID:
    scope_type: QuotaScopeType
    scope_id: uuid.UUID

    @classmethod
    def parse(cls, raw: str) -> QuotaScopeID:
        """Parse "user:<uuid>" / "project:<uuid>"; ValueError names what is wrong."""
        if not isinstance(raw, str):
            raise ValueError(f"quota scope id must be a string, not {type(raw).__name__}")
        kind, sep, rest = raw.partition(":")
        if not sep:
            raise ValueError(f"invalid quota scope id {raw!r}: expected 'user:<uuid>' or 'project:<uuid>'")
        try:
            scope_type = QuotaScopeType(kind.lower())
        except ValueError:
            raise ValueError(f"invalid quota scope type {kind!r}: expected 'user' or 'project'") from None
        try:
            scope_id = uuid.UUID(rest)
        except ValueError:
            raise ValueError(f"invalid quota scope id {raw!r}: {rest!r} is not a UUID") from None
        return cls(scope_type, scope_id)

    def __str__(self) -> str:
        return f"{self.scope_type.value}:{self.scope_id}"

    @property
    def pathname(self) -> str:
        """The quota scope's directory name inside a volume."""
        return self.scope_id.hex


@dataclass(frozen=True)
class VFolderID:
    quota_scope_id: QuotaScopeID
    folder_id: uuid.UUID

    @classmethod
    def parse(cls, raw: str) -> VFolderID:
        """Parse "<quota scope id>/<folder uuid>"."""
        if not isinstance(raw, str):
            raise ValueError(f"vfolder id must be a string, not {type(raw).__name__}")
        qsid, sep, fid = raw.partition("/")
        if not sep:
            raise ValueError(f"invalid vfolder id {raw!r}: expected '<user|project>:<uuid>/<folder uuid>'")
        try:
            folder_id = uuid.UUID(fid)
        except ValueError:
            raise ValueError(f"invalid vfolder id {raw!r}: {fid!r} is not a UUID") from None
        return cls(QuotaScopeID.parse(qsid), folder_id)

    def __str__(self) -> str:
        return f"{self.quota_scope_id}/{self.folder_id.hex}"


class VolumeCapability(enum.StrEnum):
    """What a volume backend can do (the manager shows and checks these)."""

    VFOLDER = "vfolder"        # create / delete / clone vfolders and file operations
    QUOTA = "quota"            # quota scopes with a hard limit in bytes
    KERNEL_QUOTA = "kernel-quota"  # the limit is enforced by the file system, also for session writes
    FAST_SIZE = "fast-size"    # quota scope usage without scanning


def split_volume_host(host: str) -> tuple[str, str]:
    """"proxy:volume" -> ("proxy", "volume"); ValueError when either part is missing."""
    proxy, sep, volume = host.partition(":")
    if not sep or not proxy or not volume:
        raise ValueError(f"invalid volume host {host!r}: expected 'PROXY:VOLUME'")
    return proxy, volume
