"""Request values the vfolder API modules share: enums, sizes, ids, and the acting user."""

from __future__ import annotations

import enum
from typing import Any

import trafaret as t
from aiohttp import web

from ai.backend.common.types import BinarySize

from ..models import VFolderPermission, VFolderUsageMode
from ..services.vfolder_access import Accessor
from .utils import requester


class EnumValue(t.Trafaret):
    """An enum member from its value ("rw") or, case-insensitively, its name ("READ_WRITE")."""

    def __init__(self, enum_cls: type[enum.Enum]) -> None:
        self.enum_cls = enum_cls

    def check_and_return(self, value: Any) -> enum.Enum:
        if isinstance(value, self.enum_cls):
            return value
        for member in self.enum_cls:
            if value == member.value or (isinstance(value, str) and value.upper() == member.name):
                return member
        choices = ", ".join(str(m.value) for m in self.enum_cls)
        self._failure(f"expected one of: {choices}", value=value)
        raise AssertionError  # unreachable: _failure raises


class Size(t.Trafaret):
    """A byte size: an integer or a string such as "512m", "4GiB"; 0 and null mean none."""

    def check_and_return(self, value: Any) -> int | None:
        if value is None:
            return None
        try:
            return int(BinarySize.from_str(value)) or None
        except (ValueError, TypeError):
            self._failure("expected a size such as 512m or 4g", value=value)
            raise AssertionError from None


permission_t = EnumValue(VFolderPermission)
usage_mode_t = EnumValue(VFolderUsageMode)
path_t = t.String(allow_blank=True, max_length=4096)


def accessor(request: web.Request) -> Accessor:
    return Accessor.of(requester(request))
