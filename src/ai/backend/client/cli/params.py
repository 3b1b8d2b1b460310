"""click parameter types shared by the commands."""

from __future__ import annotations

import re
from typing import Any

import click

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50, "e": 2**60}


def parse_size(text: str) -> int:
    """"16m" -> 16777216 (binary units; a bare number is bytes)."""
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a size (examples: 512, 64k, 16m, 1.5g)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


class ByteSize(click.ParamType):
    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)


class KeyValue(click.ParamType):
    """KEY=VALUE -> (KEY, VALUE)."""
    name = "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition("=")
        if not sep or not key:
            self.fail(f"{value!r} is not KEY=VALUE", param, ctx)
        return key, val


class RangeExpr(click.ParamType):
    """NAME=case:a,b | NAME=range:start,stop[,step] | NAME=linspace:start,stop,num."""
    name = "RANGE_EXPR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from .ranges import RangeError, parse_range

        if isinstance(value, tuple):
            return value
        try:
            return parse_range(str(value))
        except RangeError as e:
            self.fail(str(e), param, ctx)
