"""Safe path resolution inside a vfolder.

Users control the contents of their vfolders (also from inside session containers), so any
path they send may hit a symlink planted to escape. Every file operation therefore works on
directory file descriptors: the relative path is split into plain components (no absolute
paths, no `..`), and each open goes through openat2(2) with RESOLVE_BENEATH, so the kernel
refuses any resolution that would leave the vfolder, also when a symlink is swapped in
between a check and the use. Symlinks that stay inside the vfolder keep working. On kernels
without openat2 the fallback walks component by component with O_NOFOLLOW and refuses every
symlink (stricter, still race-free).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

SYS_openat2 = 437  # the same number on every Linux architecture
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class UnsafePathError(ValueError):
    """The path is not acceptable (absolute, `..`, NUL, or it leaves the vfolder)."""


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_openat2_available: bool | None = None


def split_relpath(relpath: str, *, allow_root: bool = True) -> tuple[str, ...]:
    """'a/./b/' -> ('a', 'b'); refuses absolute paths, '..' and NUL. '' and '.' mean the root."""
    if not isinstance(relpath, str):
        raise UnsafePathError(f"path must be a string, not {type(relpath).__name__}")
    if "\x00" in relpath:
        raise UnsafePathError("path must not contain NUL characters")
    if relpath.startswith("/"):
        raise UnsafePathError(f"absolute paths are not allowed: {relpath!r}")
    parts = tuple(p for p in relpath.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafePathError(f"'..' is not allowed in paths: {relpath!r}")
    if not parts and not allow_root:
        raise UnsafePathError(f"path must name an entry inside the vfolder, not its root: {relpath!r}")
    return parts


def _raw_openat2(dirfd: int, path: str, flags: int, mode: int, resolve: int) -> int:
    how = _OpenHow(flags, mode if flags & os.O_CREAT else 0, resolve)
    fd = _libc.syscall(
        ctypes.c_long(SYS_openat2), ctypes.c_int(dirfd), ctypes.c_char_p(os.fsencode(path)),
        ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def openat2_supported() -> bool:
    global _openat2_available
    if _openat2_available is None:
        try:
            os.close(_raw_openat2(-100, "/", DIR_FLAGS, 0, 0))  # AT_FDCWD
            _openat2_available = True
        except OSError as e:
            _openat2_available = e.errno not in (errno.ENOSYS, errno.EPERM)
    return _openat2_available


def _escape_error(parts: Sequence[str], e: OSError) -> UnsafePathError:
    shown = "/".join(parts) or "."
    if e.errno == errno.EXDEV:
        return UnsafePathError(f"path {shown!r} resolves outside the vfolder (symlink)")
    return UnsafePathError(f"path {shown!r} goes through a symlink that is not allowed here")


def _open_nofollow(name: str, flags: int, mode: int, dir_fd: int) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except NotADirectoryError:
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "symlink", name) from None
        raise


def _open_nofollow_walk(root_fd: int, parts: Sequence[str], flags: int, mode: int) -> int:
    """Fallback without openat2: refuse every symlink along the way."""
    cur = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            nxt = _open_nofollow(part, os.O_PATH | os.O_DIRECTORY, 0, cur)
            os.close(cur)
            cur = nxt
        if not parts:
            return os.open(".", flags | os.O_CLOEXEC, dir_fd=cur)
        return _open_nofollow(parts[-1], flags, mode, cur)
    finally:
        os.close(cur)


def open_beneath(root_fd: int, parts: Sequence[str], flags: int, mode: int = 0o666, *,
                 use_openat2: bool | None = None) -> int:
    """Open `parts` relative to the directory `root_fd`, never resolving outside it.

    Raises UnsafePathError for escapes; other OSErrors (ENOENT, ENOTDIR, EISDIR...) pass through.
    """
    if use_openat2 is None:
        use_openat2 = openat2_supported()
    try:
        if use_openat2:
            return _raw_openat2(root_fd, "/".join(parts) or ".", flags | os.O_CLOEXEC, mode,
                                RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
        return _open_nofollow_walk(root_fd, parts, flags, mode)
    except OSError as e:
        if e.errno in (errno.EXDEV, errno.ELOOP):
            raise _escape_error(parts, e) from None
        raise


def open_dir(root_fd: int, parts: Sequence[str]) -> int:
    return open_beneath(root_fd, parts, DIR_FLAGS)


@contextmanager
def opened(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def parent_dir(root_fd: int, parts: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(fd of the parent directory, last component) for operating on the entry itself."""
    if not parts:
        raise UnsafePathError("the vfolder root itself cannot be the target of this operation")
    with opened(open_dir(root_fd, parts[:-1])) as fd:
        yield fd, parts[-1]


def makedirs_beneath(root_fd: int, parts: Sequence[str], mode: int = 0o755, *,
                     owner: tuple[int, int] | None = None) -> int:
    """Create missing directories of `parts` (like mkdir -p) and return an fd of the last one."""
    for i in range(len(parts) + 1):
        try:
            fd = open_dir(root_fd, parts[:i])
        except FileNotFoundError:
            with parent_dir(root_fd, parts[:i]) as (pfd, name):
                try:
                    os.mkdir(name, mode, dir_fd=pfd)
                    if owner is not None:
                        os.chown(name, owner[0], owner[1], dir_fd=pfd, follow_symlinks=False)
                except FileExistsError:
                    pass
            fd = open_dir(root_fd, parts[:i])
        if i == len(parts):
            return fd
        os.close(fd)
    raise AssertionError("unreachable")
