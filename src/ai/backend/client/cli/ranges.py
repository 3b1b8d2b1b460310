"""Range expressions of `run --env-range/--exec-range` and their expansion into cases.

`NAME=case:a,b,c` lists values, `NAME=range:start,stop[,step]` follows Python's range and
`NAME=linspace:start,stop,num` follows numpy.linspace (both ends included). Several ranges
expand to every combination; each combination becomes one session whose `$NAME` /
`${NAME}` references in -e values or --exec are replaced by that case's values.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RangeError(ValueError):
    pass


def _linspace(start: Decimal, stop: Decimal, num: int) -> list[Decimal]:
    if num < 1:
        raise RangeError("linspace needs at least one point")
    if num == 1:
        return [start]
    step = (stop - start) / (num - 1)
    return [start + step * i for i in range(num - 1)] + [stop]


def parse_range(expr: str) -> tuple[str, list[str]]:
    """`X=case:1,2,3` -> ("X", ["1", "2", "3"])."""
    name, sep, spec = expr.partition("=")
    if not sep or not _NAME.match(name):
        raise RangeError(f"{expr!r}: expected NAME=KIND:VALUES with NAME a variable name")
    kind, sep, args = spec.partition(":")
    if not sep:
        raise RangeError(f"{expr!r}: expected case:, range: or linspace: after '='")
    try:
        if kind == "case":
            values = args.split(",")
        elif kind == "range":
            nums = [int(a) for a in args.split(",")]
            if not 1 <= len(nums) <= 3:
                raise RangeError(f"{expr!r}: range takes start,stop[,step]")
            values = [str(v) for v in range(*nums)]
        elif kind == "linspace":
            parts = args.split(",")
            if len(parts) != 3:
                raise RangeError(f"{expr!r}: linspace takes start,stop,num")
            values = [format(v.normalize(), "f")
                      for v in _linspace(Decimal(parts[0]), Decimal(parts[1]), int(parts[2]))]
        else:
            raise RangeError(f"{expr!r}: unknown range kind {kind!r} (case, range, linspace)")
    except (ValueError, InvalidOperation) as e:
        if isinstance(e, RangeError):
            raise
        raise RangeError(f"{expr!r}: {e}") from None
    if not values:
        raise RangeError(f"{expr!r}: the range is empty")
    return name, values


def expand(ranges: Sequence[tuple[str, Sequence[str]]]) -> Iterator[dict[str, str]]:
    """Every combination of the ranges' values, as {NAME: value} (one empty case if none)."""
    names = [n for n, _ in ranges]
    for combo in itertools.product(*(v for _, v in ranges)):
        yield dict(zip(names, combo, strict=True))


def interpolate(text: str, case: Mapping[str, str]) -> str:
    """Replace `$NAME` and `${NAME}` of the case's variables; others stay as they are."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return case.get(name, m.group(0))
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)
