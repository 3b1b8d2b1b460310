"""Upload sessions behind the tus 1.0 endpoint: resumable, quota-checked, atomic.

A session is created when the manager asks for an upload token (the client never sends a
tus creation POST). Its state lives on disk in the quota scope's `.upload` directory:
`<session>.json` (target, size, expiry, completed) and `<session>.part` (the bytes so far),
so the offset is simply the size of the part file and survives restarts. A PATCH appends at
the stored offset under an exclusive flock; when the last byte arrives the part file is
synced and renamed into the vfolder in one step, so no partial file is ever visible there.
A zero-byte upload (the official client sends no PATCH at all) is completed at creation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import stat
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import (
    FileAlreadyExists,
    InvalidPath,
    InvalidToken,
    QuotaExceeded,
    StorageError,
    UploadBusy,
    UploadOffsetMismatch,
    UploadSessionNotFound,
    UploadTooLarge,
    from_os_error,
)
from .paths import UnsafePathError, makedirs_beneath, open_beneath, opened, split_relpath
from .tokens import UploadToken
from .volumes.abc import AbstractVolume
from .volumes.fileops import PosixFSOps
from .volumes.pool import VolumePool

log = logging.getLogger(__name__)

WRITE_BATCH = 4 * 1024 * 1024


@dataclass
class SessionRecord:
    vfid: str
    relpath: str
    size: int
    expires_at: float
    completed: bool = False


def _write_record(path: Path, record: SessionRecord) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(record)))
    os.replace(tmp, path)


def _read_record(path: Path) -> SessionRecord | None:
    try:
        return SessionRecord(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None


_libc = ctypes.CDLL(None, use_errno=True)
SYNC_FILE_RANGE_WRITE = 2


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to begin writing this range to disk now (sync_file_range(2), no wait),
    so the fdatasync on completion has little left to do and disk and network overlap."""
    _libc.sync_file_range(fd, ctypes.c_longlong(offset), ctypes.c_longlong(length), SYNC_FILE_RANGE_WRITE)


def _writev_all(fd: int, chunks: list[bytes]) -> None:
    start = os.lseek(fd, 0, os.SEEK_CUR)
    total = sum(len(c) for c in chunks)
    _writev_views(fd, chunks)
    _start_writeback(fd, start, total)


def _writev_views(fd: int, chunks: list[bytes]) -> None:
    views = [memoryview(c) for c in chunks]
    while views:
        n = os.writev(fd, views)
        while n and views:
            if n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][n:]
                n = 0


class UploadSessions:
    def __init__(self, volumes: VolumePool, *, max_upload_size: int) -> None:
        self.volumes = volumes
        self.max_upload_size = max_upload_size
        # one creation at a time per quota scope, so two requests cannot both take the last space
        self._scope_locks: dict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    # --- paths --------------------------------------------------------------------------

    def _paths(self, volume: AbstractVolume, token: UploadToken) -> tuple[Path, Path, Path]:
        d = volume.upload_dir(token.vfid.quota_scope_id)
        return d, d / f"{token.session}.json", d / f"{token.session}.part"

    @staticmethod
    def _fsops(volume: AbstractVolume) -> PosixFSOps:
        ops = volume.fsops
        assert isinstance(ops, PosixFSOps)
        return ops

    def _reserved_bytes(self, upload_dir: Path, exclude: str) -> int:
        """Bytes promised to unfinished uploads of the scope, beyond what they wrote so far."""
        now = datetime.now(UTC).timestamp()
        reserved = 0
        for rec_path in upload_dir.glob("*.json"):
            if rec_path.stem == exclude:
                continue
            rec = _read_record(rec_path)
            if rec is None or rec.completed or rec.expires_at < now:
                continue
            try:
                written = rec_path.with_suffix(".part").stat().st_size
            except FileNotFoundError:
                written = 0
            reserved += max(rec.size - written, 0)
        return reserved

    # --- creation -------------------------------------------------------------------------

    def _check_target(self, volume: AbstractVolume, token: UploadToken) -> None:
        """The target must be a plain path inside the vfolder and not an existing directory."""
        try:
            parts = split_relpath(token.relpath, allow_root=False)
            with opened(self._fsops(volume).open_root(token.vfid)) as root:
                try:
                    fd = open_beneath(root, parts, os.O_PATH)
                except FileNotFoundError:
                    return  # new file (missing parents are created on completion)
                except NotADirectoryError:
                    raise InvalidPath(f"{token.relpath}: a parent path component is a file") from None
                with opened(fd):
                    if stat.S_ISDIR(os.fstat(fd).st_mode):
                        raise FileAlreadyExists(f"{token.relpath}: is an existing directory")
        except UnsafePathError as e:
            raise InvalidPath(str(e)) from None

    async def create(self, volume: AbstractVolume, token: UploadToken) -> None:
        """Validate the target and the quota, then record the session (or finish it if empty)."""
        if token.size > self.max_upload_size:
            raise UploadTooLarge(
                f"{token.relpath}: {token.size} bytes exceed max-upload-size ({self.max_upload_size})",
                data={"size": token.size, "max_upload_size": self.max_upload_size},
            )
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._check_target, volume, token)
        upload_dir, rec_path, part_path = self._paths(volume, token)
        qsid = token.vfid.quota_scope_id
        async with self._scope_locks[(volume.name, str(qsid))]:
            await volume.quota_model.ensure_quota_scope(qsid)
            reserved = await loop.run_in_executor(None, self._reserved_bytes, upload_dir, token.session)
            await volume.quota_model.ensure_space(qsid, token.size, reserved)
            await self._record(volume, token, upload_dir, rec_path, part_path)

    async def _record(self, volume: AbstractVolume, token: UploadToken, upload_dir: Path,
                      rec_path: Path, part_path: Path) -> None:
        record = SessionRecord(str(token.vfid), token.relpath, token.size, token.expires_at.timestamp())

        def _create() -> None:
            upload_dir.mkdir(exist_ok=True)
            _write_record(rec_path, record)
            if token.size == 0:
                fd = os.open(part_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                with opened(fd):
                    self._finalize(volume, token, upload_dir, fd)
                record.completed = True
                _write_record(rec_path, record)

        await asyncio.get_running_loop().run_in_executor(None, self._guard, token.relpath, _create)

    @staticmethod
    def _guard(relpath: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except StorageError:
            raise
        except UnsafePathError as e:
            raise InvalidPath(str(e)) from None
        except OSError as e:
            raise from_os_error(e, relpath) from None

    # --- offsets and writes -----------------------------------------------------------------

    def _load(self, volume: AbstractVolume, token: UploadToken) -> SessionRecord:
        _, rec_path, _ = self._paths(volume, token)
        rec = _read_record(rec_path)
        if rec is None:
            raise UploadSessionNotFound(f"upload session {token.session} does not exist (expired or never created)")
        if (rec.vfid, rec.relpath, rec.size) != (str(token.vfid), token.relpath, token.size):
            raise InvalidToken("the token does not match its upload session")
        return rec

    async def offset(self, volume: AbstractVolume, token: UploadToken) -> int:
        rec = self._load(volume, token)
        if rec.completed:
            return rec.size
        try:
            return self._paths(volume, token)[2].stat().st_size
        except FileNotFoundError:
            return 0

    async def write(self, volume: AbstractVolume, token: UploadToken, offset: int,
                    content_length: int | None, body: AsyncIterator[bytes]) -> int:
        """Append the body at `offset`; returns the new offset (== size when complete)."""
        loop = asyncio.get_running_loop()
        rec = self._load(volume, token)
        offset_hdr = {"Upload-Offset": str(rec.size)}
        if rec.completed:
            if offset == rec.size and not content_length:
                return rec.size
            raise UploadOffsetMismatch(f"the upload is already complete ({rec.size} bytes)", headers=offset_hdr)
        upload_dir, rec_path, part_path = self._paths(volume, token)
        fd = os.open(part_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadBusy("another request is uploading to this session right now") from None
            current = os.fstat(fd).st_size
            if offset != current:
                raise UploadOffsetMismatch(f"Upload-Offset is {offset}, but the upload is at {current}",
                                           headers={"Upload-Offset": str(current)})
            remaining = rec.size - current
            if content_length is not None and content_length > remaining:
                raise UploadTooLarge(f"the body ({content_length} bytes) exceeds the remaining "
                                     f"{remaining} bytes of the declared size {rec.size}",
                                     headers={"Upload-Offset": str(current)})
            os.lseek(fd, current, os.SEEK_SET)
            written = await self._append(fd, current, remaining, body)
            new_offset = current + written
            if new_offset == rec.size:
                await loop.run_in_executor(
                    None, self._guard, token.relpath, lambda: self._finalize(volume, token, upload_dir, fd))
                rec.completed = True
                await loop.run_in_executor(None, _write_record, rec_path, rec)
            return new_offset
        finally:
            os.close(fd)  # also releases the flock

    async def _append(self, fd: int, start: int, remaining: int, body: AsyncIterator[bytes]) -> int:
        """Write the body at the file's position; returns how many bytes were stored.

        Reading the socket and writing the disk overlap: one batch is written in a thread
        while the next one is read.
        """
        loop = asyncio.get_running_loop()
        written = 0  # bytes on disk
        batch: list[bytes] = []
        batch_size = 0
        pending: asyncio.Future[None] | None = None
        pending_size = 0

        async def wait_pending() -> None:
            nonlocal pending, pending_size, written
            if pending is not None:
                fut, pending = pending, None
                await fut
                written += pending_size
                pending_size = 0

        async def flush(*, wait: bool) -> None:
            nonlocal pending, pending_size, batch, batch_size
            await wait_pending()
            if batch:
                pending = loop.run_in_executor(None, _writev_all, fd, batch)
                pending_size = batch_size
                batch, batch_size = [], 0
            if wait:
                await wait_pending()

        try:
            async for chunk in body:
                if written + pending_size + batch_size + len(chunk) > remaining:
                    await flush(wait=True)
                    os.ftruncate(fd, start + written)  # keep only whole, valid chunks
                    raise UploadTooLarge("the body exceeds the declared size of the upload")
                batch.append(chunk)
                batch_size += len(chunk)
                if batch_size >= WRITE_BATCH:
                    await flush(wait=False)
            await flush(wait=True)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                with contextlib.suppress(BaseException):
                    await wait_pending()
                os.ftruncate(fd, start)
                raise QuotaExceeded("the quota scope or the volume is full; this chunk was not stored",
                                    headers={"Upload-Offset": str(start)}) from None
            raise
        except StorageError:
            raise
        except BaseException:
            # the connection dropped: keep what reached the disk so the client can resume
            with contextlib.suppress(BaseException):
                await flush(wait=True)
            raise
        return written

    def _finalize(self, volume: AbstractVolume, token: UploadToken, upload_dir: Path, fd: int) -> None:
        """Sync the part file and rename it over the target inside the vfolder (atomic)."""
        os.fdatasync(fd)
        os.fchmod(fd, 0o644)
        if volume.owner:
            os.fchown(fd, *volume.owner)
        parts = split_relpath(token.relpath, allow_root=False)
        with opened(self._fsops(volume).open_root(token.vfid)) as root, \
                opened(makedirs_beneath(root, parts[:-1], owner=volume.owner)) as parent, \
                opened(os.open(upload_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)) as udir:
            try:
                st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    raise FileAlreadyExists(f"{token.relpath}: is an existing directory")
            except FileNotFoundError:
                pass
            os.rename(f"{token.session}.part", parts[-1], src_dir_fd=udir, dst_dir_fd=parent)

    # --- housekeeping -----------------------------------------------------------------------

    def sweep_expired(self, now: datetime | None = None) -> int:
        """Remove session records and part files whose token has expired; returns how many."""
        ts = (now or datetime.now(UTC)).timestamp()
        removed = 0
        for volume in self.volumes:
            for rec_path in volume.path.glob("*/.upload/*.json"):
                rec = _read_record(rec_path)
                if rec is not None and rec.expires_at >= ts:
                    continue
                rec_path.with_suffix(".part").unlink(missing_ok=True)
                rec_path.unlink(missing_ok=True)
                removed += 1
        return removed
