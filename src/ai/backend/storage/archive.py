"""Stream a directory as a zip archive without temp files.

A dedicated thread walks the directory (treeops.walk_files: no symlinks followed) and writes
the zip into a bounded queue; the event loop side yields the chunks to the HTTP response.
When the client goes away, the consumer stops and the writer thread ends at its next put.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator

MAX_INFLIGHT = 8
READ_SIZE = 1024 * 1024
_DONE = object()


class _Cancelled(Exception):
    pass


class _QueueWriter:
    """A write-only, unseekable file object that hands bytes to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object],
                 slots: threading.Semaphore, cancelled: threading.Event) -> None:
        self.loop, self.queue, self.slots, self.cancelled = loop, queue, slots, cancelled
        self.buf = bytearray()

    def _put(self, item: object) -> None:
        while not self.slots.acquire(timeout=1.0):
            if self.cancelled.is_set():
                raise _Cancelled
        if self.cancelled.is_set():
            raise _Cancelled
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def write(self, data: bytes) -> int:
        self.buf += data
        if len(self.buf) >= READ_SIZE:
            self._put(bytes(self.buf))
            self.buf.clear()
        return len(data)

    def flush(self) -> None:
        if self.buf:
            self._put(bytes(self.buf))
            self.buf.clear()

    def finish(self, item: object) -> None:
        self.flush()
        self._put(item)


def _zip_date(mtime: float) -> tuple[int, int, int, int, int, int]:
    t = time.localtime(max(mtime, 315532800))  # zip dates start in 1980
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def write_zip(out: _QueueWriter, entries: Iterator[tuple[str, int | None]]) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:  # type: ignore[call-overload]
        for arcname, fd in entries:
            if fd is None:
                zf.writestr(zipfile.ZipInfo(arcname, _zip_date(time.time())), b"")
                continue
            try:
                st = os.fstat(fd)
                info = zipfile.ZipInfo(arcname, _zip_date(st.st_mtime))
                info.external_attr = (stat.S_IMODE(st.st_mode) | stat.S_IFREG) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as dst:
                    while chunk := os.read(fd, READ_SIZE):
                        dst.write(chunk)
            finally:
                os.close(fd)


async def stream_zip(make_entries: Callable[[], Iterator[tuple[str, int | None]]]) -> AsyncIterator[bytes]:
    """Yield the zip archive of `make_entries()` (called in the writer thread) chunk by chunk."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    slots = threading.Semaphore(MAX_INFLIGHT)
    cancelled = threading.Event()
    out = _QueueWriter(loop, queue, slots, cancelled)

    def produce() -> None:
        try:
            write_zip(out, make_entries())
            out.finish(_DONE)
        except _Cancelled:
            pass
        except BaseException as e:  # hand the error to the consumer
            if not cancelled.is_set():
                loop.call_soon_threadsafe(queue.put_nowait, e)

    thread = threading.Thread(target=produce, name="zip-archive", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            slots.release()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        cancelled.set()
        for _ in range(MAX_INFLIGHT):
            slots.release()  # unblock a writer waiting for room
