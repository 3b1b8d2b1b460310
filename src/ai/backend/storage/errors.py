"""Errors of the storage proxy, each with its HTTP status and problem+json type.

Both APIs answer every failure as `application/problem+json`
(`{"type": "https://api.backend.ai/probs/<slug>", "title": ..., "msg"?: ..., "data"?: ...}`),
so the manager can pass a proxy error on to the user unchanged.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any, ClassVar

PROBLEM_BASE = "https://api.backend.ai/probs/"


class StorageError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-server-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, msg: str | None = None, *, data: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(msg or self.title)
        self.msg = msg
        self.data = dict(data) if data else None
        self.headers = dict(headers or {})

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_BASE + self.slug, "title": self.title}
        if self.msg:
            body["msg"] = self.msg
        if self.data:
            body["data"] = self.data
        return body


class InvalidAPIParameters(StorageError):
    status, slug, title = 400, "invalid-api-params", "Missing or invalid API parameters"


class InvalidPath(StorageError):
    status, slug, title = 400, "storage/invalid-path", "The path is not allowed"


class NotSupported(StorageError):
    status, slug, title = 400, "storage/not-supported", "The volume does not support this operation"


class AuthorizationFailed(StorageError):
    status, slug, title = 401, "storage/auth-failed", "Authorization failed"


class InvalidToken(StorageError):
    status, slug, title = 401, "storage/invalid-token", "The token is invalid or expired"


class PermissionDenied(StorageError):
    status, slug, title = 403, "storage/permission-denied", "Permission denied"


class NotFound(StorageError):
    status, slug, title = 404, "storage/not-found", "Not found"


class VolumeNotFound(NotFound):
    slug, title = "storage/volume-not-found", "No such volume"


class VFolderNotFound(NotFound):
    slug, title = "storage/vfolder-not-found", "No such vfolder"


class QuotaScopeNotFound(NotFound):
    slug, title = "storage/quota-scope-not-found", "No such quota scope"


class FileNotFound(NotFound):
    slug, title = "storage/file-not-found", "No such file or directory"


class UploadSessionNotFound(NotFound):
    slug, title = "storage/upload-session-not-found", "The upload session does not exist or has expired"


class Conflict(StorageError):
    status, slug, title = 409, "storage/conflict", "Conflict with the current state"


class VFolderAlreadyExists(Conflict):
    slug, title = "storage/vfolder-already-exists", "The vfolder already exists"


class QuotaScopeAlreadyExists(Conflict):
    slug, title = "storage/quota-scope-already-exists", "The quota scope already exists"


class QuotaScopeNotEmpty(Conflict):
    slug, title = "storage/quota-scope-not-empty", "The quota scope still holds vfolders"


class FileAlreadyExists(Conflict):
    slug, title = "storage/file-already-exists", "A file or directory already exists there"


class UploadOffsetMismatch(Conflict):
    slug, title = "storage/upload-offset-mismatch", "Upload-Offset does not match the stored offset"


class UploadBusy(Conflict):
    slug, title = "storage/upload-busy", "Another request is writing to this upload"


class TusVersionUnsupported(StorageError):
    status, slug, title = 412, "storage/tus-version-unsupported", "Only tus 1.0.0 is supported"


class QuotaExceeded(StorageError):
    status, slug, title = 413, "storage/quota-exceeded", "The quota scope's limit would be exceeded"


class UploadTooLarge(StorageError):
    status, slug, title = 413, "storage/upload-too-large", "The upload is larger than allowed"


class UnsupportedMediaType(StorageError):
    status, slug, title = 415, "storage/unsupported-media-type", "Unsupported Content-Type"


class BackendError(StorageError):
    status, slug, title = 500, "storage/backend-error", "The storage backend failed"


def from_os_error(e: OSError, what: str) -> StorageError:
    """Map a file system error on `what` (a relative path) to the matching API error."""
    match e.errno:
        case errno.ENOENT:
            return FileNotFound(f"{what}: no such file or directory")
        case errno.EEXIST:
            return FileAlreadyExists(f"{what}: already exists")
        case errno.ENOTDIR:
            return InvalidAPIParameters(f"{what}: a path component is not a directory")
        case errno.EISDIR:
            return InvalidAPIParameters(f"{what}: is a directory")
        case errno.ENOTEMPTY:
            return InvalidAPIParameters(f"{what}: directory not empty (use recursive deletion)")
        case errno.ENAMETOOLONG:
            return InvalidAPIParameters(f"{what}: name too long")
        case errno.EINVAL:
            return InvalidAPIParameters(f"{what}: invalid operation ({e.strerror})")
        case errno.EDQUOT:
            return QuotaExceeded(f"{what}: disk quota exceeded")
        case errno.ENOSPC:
            return QuotaExceeded(f"{what}: no space left on the volume")
        case errno.EACCES | errno.EPERM:
            return PermissionDenied(f"{what}: permission denied on the storage")
        case _:
            return BackendError(f"{what}: {e.strerror or e}")
