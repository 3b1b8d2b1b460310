"""Whole-tree operations on directory file descriptors: usage scans, copies, archive walks.

They never follow symlinks (a link is counted, copied or skipped as a link), so a user's
symlink cannot make the proxy read or write outside the tree. Blocking: run them in a thread.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_COPY_CHUNK = 64 * 1024 * 1024
# O_NONBLOCK: a fifo swapped in for a file must not block the open (regular files ignore it)
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_regular_file(name: str, dir_fd: int) -> int | None:
    """Open a regular file without following symlinks; None if it is anything else now."""
    try:
        fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ELOOP, errno.ENXIO):
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


@dataclass
class TreeUsage:
    file_count: int = 0
    used_bytes: int = 0


def _entries(dir_fd: int) -> Iterator[tuple[str, os.stat_result]]:
    with os.scandir(dir_fd) as it:
        names = [e.name for e in it]
    for name in names:
        try:
            yield name, os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while we walk


def _open_subdir(name: str, dir_fd: int) -> int | None:
    try:
        return os.open(name, _OPEN_DIR, dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None  # replaced or removed meanwhile
        raise


def scan_usage(dir_fd: int, *, skip_top: frozenset[str] = frozenset()) -> TreeUsage:
    """Count entries (files, links, directories below the top) and sum regular file sizes.

    Hard-linked files count once. `skip_top` names top-level entries to leave out.
    """
    usage = TreeUsage()
    seen_inodes: set[tuple[int, int]] = set()
    stack = [(os.dup(dir_fd), True)]
    while stack:
        fd, is_top = stack.pop()
        try:
            for name, st in _entries(fd):
                if is_top and name in skip_top:
                    continue
                usage.file_count += 1
                if stat.S_ISDIR(st.st_mode):
                    sub = _open_subdir(name, fd)
                    if sub is not None:
                        stack.append((sub, False))
                elif stat.S_ISREG(st.st_mode):
                    if st.st_nlink > 1:
                        key = (st.st_dev, st.st_ino)
                        if key in seen_inodes:
                            continue
                        seen_inodes.add(key)
                    usage.used_bytes += st.st_size
        finally:
            os.close(fd)
    return usage


def _copy_file_data(src: int, dst: int, size: int) -> None:
    copied = 0
    try:
        while copied < size or size == 0:
            n = os.copy_file_range(src, dst, _COPY_CHUNK)
            if n == 0:
                return
            copied += n
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
        os.lseek(src, copied, os.SEEK_SET)
        os.lseek(dst, copied, os.SEEK_SET)
        while chunk := os.read(src, 8 * 1024 * 1024):
            os.write(dst, chunk)


def copy_tree(src_fd: int, dst_fd: int, *, owner: tuple[int, int] | None = None) -> TreeUsage:
    """Copy the contents of directory `src_fd` into the (empty) directory `dst_fd`.

    Regular files, directories and symlinks (as links) are copied with their mode and
    mtime; sockets, fifos and devices are skipped. Returns what was copied.
    """
    copied = TreeUsage()
    stack = [(os.dup(src_fd), os.dup(dst_fd))]
    try:
        _copy_loop(stack, copied, owner)
    finally:
        for sfd, dfd in stack:
            os.close(sfd)
            os.close(dfd)
    return copied


def _copy_loop(stack: list[tuple[int, int]], copied: TreeUsage, owner: tuple[int, int] | None) -> None:
    while stack:
        sfd, dfd = stack.pop()
        try:
            for name, st in _entries(sfd):
                mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISDIR(st.st_mode):
                    os.mkdir(name, 0o700, dir_fd=dfd)
                    dsub = os.open(name, _OPEN_DIR, dir_fd=dfd)
                    os.fchmod(dsub, mode)
                    if owner:
                        os.fchown(dsub, *owner)
                    sub = _open_subdir(name, sfd)
                    if sub is None:
                        os.close(dsub)
                        continue
                    stack.append((sub, dsub))
                elif stat.S_ISREG(st.st_mode):
                    s = open_regular_file(name, sfd)
                    if s is None:
                        continue
                    try:
                        d = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                    0o600, dir_fd=dfd)
                        try:
                            _copy_file_data(s, d, st.st_size)
                            os.fchmod(d, mode)
                            if owner:
                                os.fchown(d, *owner)
                            os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
                        finally:
                            os.close(d)
                    finally:
                        os.close(s)
                    copied.used_bytes += st.st_size
                elif stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(name, dir_fd=sfd), name, dir_fd=dfd)
                    if owner:
                        os.chown(name, *owner, dir_fd=dfd, follow_symlinks=False)
                else:
                    continue
                copied.file_count += 1
        finally:
            os.close(sfd)
            os.close(dfd)


def walk_files(dir_fd: int, prefix: str = "") -> Iterator[tuple[str, int | None]]:
    """Yield ("dir/", None) for directories and ("dir/file", fd) for regular files under
    `dir_fd` (depth first, sorted). Symlinks and special files are left out. The consumer
    closes each yielded fd."""
    stack = [(os.dup(dir_fd), prefix)]
    try:
        while stack:
            fd, pfx = stack.pop()
            yield from _walk_one(fd, pfx, stack)
    finally:
        for fd, _ in stack:
            os.close(fd)


def _walk_one(fd: int, pfx: str, stack: list[tuple[int, str]]) -> Iterator[tuple[str, int | None]]:
    subdirs: list[tuple[int, str]] = []
    try:
        for name, st in sorted(_entries(fd), key=lambda e: e[0]):
            arcname = f"{pfx}{name}"
            if stat.S_ISDIR(st.st_mode):
                sub = _open_subdir(name, fd)
                if sub is not None:
                    subdirs.append((sub, f"{arcname}/"))
                    yield f"{arcname}/", None
            elif stat.S_ISREG(st.st_mode):
                ffd = open_regular_file(name, fd)
                if ffd is not None:
                    yield arcname, ffd
    finally:
        os.close(fd)
        stack.extend(reversed(subdirs))  # closed by walk_files, also when it stops early
