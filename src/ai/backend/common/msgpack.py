"""msgpack with the types our messages carry (UUID, datetime, Decimal, enums as values)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgpack as _msgpack

_EXT_UUID = 1
_EXT_DATETIME = 2
_EXT_DECIMAL = 3


def _default(obj: Any) -> Any:
    if isinstance(obj, uuid.UUID):
        return _msgpack.ExtType(_EXT_UUID, obj.bytes)
    if isinstance(obj, datetime):
        return _msgpack.ExtType(_EXT_DATETIME, obj.isoformat().encode())
    if isinstance(obj, Decimal):
        return _msgpack.ExtType(_EXT_DECIMAL, str(obj).encode())
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_UUID:
        return uuid.UUID(bytes=data)
    if code == _EXT_DATETIME:
        return datetime.fromisoformat(data.decode())
    if code == _EXT_DECIMAL:
        return Decimal(data.decode())
    return _msgpack.ExtType(code, data)


def packb(obj: Any) -> bytes:
    return _msgpack.packb(obj, default=_default, use_bin_type=True)


def unpackb(data: bytes) -> Any:
    return _msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)
