"""Files in a session's main container (/home/work) and its container log.

These calls are for small, frequently changing files (sources before a batch run); large data
belongs in vfolders. Paths are checked here before anything reaches the agent: relative to
/home/work, or absolute inside it, never with `..` (the kernel runner checks again, with
symlinks resolved). An upload is validated as a whole first so a bad part writes nothing.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..context import RootContext
from ..errors import InvalidAPIParameters
from ..models import kernels
from .session_target import USABLE_STATUSES, KernelTarget, call_agent

WORKDIR = "/home/work"
MAX_UPLOAD_FILE_SIZE = 1 * 2**20      # per file (manual: 1 MiB)
MAX_UPLOAD_FILES = 20                 # per request
MAX_DOWNLOAD_FILES = 5                # per request
TRANSFER_TIMEOUT = 300.0              # agent calls that move file contents


class UploadTooLarge(InvalidAPIParameters):
    error_type = "upload-too-large"
    error_title = "An uploaded file exceeds the size limit."


@dataclass(frozen=True)
class UploadedFile:
    path: str      # relative to /home/work
    data: bytes


def confine(path: Any, *, what: str = "path", allow_root: bool = False) -> str:
    """`path` as a normalized path relative to /home/work; 400 naming it when it escapes."""
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        raise InvalidAPIParameters(f"{what}: {path!r} is not a valid path")
    if path.startswith("/"):
        if path.rstrip("/") == WORKDIR:
            rel = "."
        elif path.startswith(WORKDIR + "/"):
            rel = path[len(WORKDIR) + 1:]
        else:
            raise InvalidAPIParameters(f"{what}: {path!r} is outside {WORKDIR}")
    else:
        rel = path
    if ".." in rel.split("/"):
        raise InvalidAPIParameters(f"{what}: {path!r} must not contain '..'")
    rel = posixpath.normpath(rel)
    if rel == "." and not allow_root:
        raise InvalidAPIParameters(f"{what}: {path!r} names {WORKDIR} itself, not a file in it")
    return rel


def check_upload(files: list[UploadedFile]) -> None:
    if not files:
        raise InvalidAPIParameters("no file parts named 'src' in the upload")
    if len(files) > MAX_UPLOAD_FILES:
        raise InvalidAPIParameters(f"too many files: {len(files)} > {MAX_UPLOAD_FILES} per request")
    for f in files:
        if len(f.data) > MAX_UPLOAD_FILE_SIZE:
            raise UploadTooLarge(f"{f.path}: {len(f.data)} bytes > {MAX_UPLOAD_FILE_SIZE} bytes per file")


async def upload(ctx: RootContext, target: KernelTarget, files: list[UploadedFile]) -> None:
    check_upload(files)
    for f in files:
        await call_agent(ctx, target, "upload_file", f.path, f.data, timeout=TRANSFER_TIMEOUT)


async def download(ctx: RootContext, target: KernelTarget, paths: list[str]) -> list[tuple[str, bytes]]:
    """One tar archive per requested path, in order."""
    if not paths:
        raise InvalidAPIParameters("files: name at least one file to download")
    if len(paths) > MAX_DOWNLOAD_FILES:
        raise InvalidAPIParameters(f"files: at most {MAX_DOWNLOAD_FILES} files per request")
    rels = [confine(p, what="files") for p in paths]
    return [(rel, bytes(await call_agent(ctx, target, "download_file", rel, timeout=TRANSFER_TIMEOUT))) for rel in rels]


async def list_files(ctx: RootContext, target: KernelTarget, path: str | None) -> dict[str, Any]:
    rel = confine(path or WORKDIR, allow_root=True)
    result = dict(await call_agent(ctx, target, "list_files", rel, timeout=60.0))
    abspath = result.get("abspath") or posixpath.join(WORKDIR, rel)
    return {"files": result.get("files", "[]"), "errors": result.get("errors") or "",
            "abspath": abspath, "folder_path": abspath}


async def logs(ctx: RootContext, target: KernelTarget) -> str:
    """The live container log; for an ended session, the log kept when its kernel was removed."""
    if target.status in USABLE_STATUSES and target.agent_addr:
        result = await call_agent(ctx, target, "get_logs", timeout=60.0)
        return str((result or {}).get("logs") or "")
    if target.kernel_id is None:
        return ""
    async with ctx.db.connect() as conn:
        raw = (await conn.execute(sa.select(kernels.c.container_log)
                                  .where(kernels.c.id == target.kernel_id))).scalar()
    return bytes(raw).decode("utf-8", "replace") if raw else ""
