"""File operations inside /home/work, done by the runner as the kernel user.

Every path is resolved (symlinks included) and refused unless it stays inside the work
directory, so neither `..` nor a symlink planted by user code reaches other files.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

DOWNLOAD_LIMIT = 128 * 1024 * 1024


class FileOpError(Exception):
    pass


def resolve_inside(base: Path, path: str, *, must_exist: bool = True) -> Path:
    if not isinstance(path, str) or "\x00" in path:
        raise FileOpError("invalid path")
    base_real = Path(os.path.realpath(base))
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = base / candidate
    real = Path(os.path.realpath(candidate))
    if real != base_real and base_real not in real.parents:
        raise FileOpError(f"{path}: outside of {base}")
    if must_exist and not real.exists():
        raise FileOpError(f"{path}: no such file or directory")
    return real


def list_files(base: Path, path: str) -> dict[str, Any]:
    target = resolve_inside(base, path or ".")
    if not target.is_dir():
        raise FileOpError(f"{path}: not a directory")
    entries: list[dict[str, Any]] = []
    errors: list[str] = []
    with os.scandir(target) as it:
        for entry in sorted(it, key=lambda e: e.name):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as e:
                errors.append(f"{entry.name}: {e.strerror}")
                continue
            entries.append({
                "filename": entry.name,
                "size": st.st_size,
                "mode": stat.filemode(st.st_mode),
                "ctime": st.st_ctime,
                "mtime": st.st_mtime,
                "atime": st.st_atime,
            })
    return {"files": entries, "errors": errors, "abspath": str(target)}


def upload_file(base: Path, path: str, data: bytes) -> str:
    if not isinstance(path, str) or not path or "\x00" in path:
        raise FileOpError("invalid path")
    rel = Path(path)
    if rel.is_absolute():
        try:
            rel = rel.relative_to(base)
        except ValueError:
            raise FileOpError(f"{path}: must be a path inside {base}") from None
    if ".." in rel.parts or not rel.name:
        raise FileOpError(f"{path}: must name a file inside {base} without '..'")
    target = base / rel
    parent = resolve_inside(base, str(target.parent), must_exist=False)
    parent.mkdir(parents=True, exist_ok=True)
    parent = resolve_inside(base, str(parent))  # again, now that it exists
    dest = parent / target.name
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return str(dest)


def download_file(base: Path, path: str, limit: int = DOWNLOAD_LIMIT) -> bytes:
    """The file or directory as an uncompressed tar archive (what the REST download returns)."""
    target = resolve_inside(base, path)
    total = 0
    if target.is_dir():
        for root, _dirs, files in os.walk(target):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
    else:
        total = target.stat().st_size
    if total > limit:
        raise FileOpError(f"{path}: too large to download through the kernel ({total} bytes > {limit})")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(target), arcname=target.name, recursive=True)
    return buf.getvalue()
