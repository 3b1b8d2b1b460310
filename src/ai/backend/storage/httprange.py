"""HTTP validators and byte ranges for downloads (RFC 9110/9111 rules that clients rely on).

Last-Modified has one-second resolution, so an If-Range date is compared with the file's
mtime truncated to whole seconds (the official client resumes with If-Range = the
Last-Modified it got; comparing fractional mtimes would turn every resume into a restart).
"""

from __future__ import annotations

import os
import re
from email.utils import formatdate, parsedate_to_datetime

from .errors import StorageError

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(StorageError):
    status, slug, title = 416, "storage/range-not-satisfiable", "The requested range is not satisfiable"


def etag_of(st: os.stat_result) -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def last_modified_of(st: os.stat_result) -> str:
    return formatdate(int(st.st_mtime), usegmt=True)


def if_range_matches(value: str, st: os.stat_result) -> bool:
    """True if the representation the client holds is still current (then honour Range)."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag_of(st)  # weak validators never match If-Range
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return dt is not None and int(dt.timestamp()) == int(st.st_mtime)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range as (start, end exclusive); None means "ignore Range, send it all"
    (syntax we do not serve, such as multiple ranges). RangeNotSatisfiable when it starts
    beyond the end."""
    m = _RANGE_RE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable(f"empty suffix range for {size} bytes",
                                      headers={"Content-Range": f"bytes */{size}"})
        return max(size - n, 0), size
    start = int(first)
    if last != "" and int(last) < start:
        return None  # invalid: ignore the header
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size:
        raise RangeNotSatisfiable(f"range {header.strip()!r} is outside the {size}-byte file",
                                  headers={"Content-Range": f"bytes */{size}"})
    return start, end
