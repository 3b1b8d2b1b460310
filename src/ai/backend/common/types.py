"""Value types shared by every service: ids, binary sizes and resource slots."""

from __future__ import annotations

import enum
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, NewType

SessionId = NewType("SessionId", uuid.UUID)
KernelId = NewType("KernelId", uuid.UUID)
AgentId = NewType("AgentId", str)
AccessKey = NewType("AccessKey", str)
SlotName = NewType("SlotName", str)


class SlotTypes(enum.StrEnum):
    """How a resource slot is measured: a count (cpu, cuda.device), bytes (mem) or a unique device."""

    COUNT = "count"
    BYTES = "bytes"
    UNIQUE = "unique"


_SIZE_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_SIZE_RE = re.compile(r"^\s*(?P<num>[0-9]*\.?[0-9]+)\s*(?P<unit>[kmgtpe]?)(?:i?b)?\s*$", re.IGNORECASE)


class BinarySize(int):
    """A byte count that parses and prints the manual's suffix notation ("4g", "512m", "1.5k")."""

    @classmethod
    def from_str(cls, value: str | int | float | Decimal) -> BinarySize:
        if isinstance(value, bool):
            raise ValueError(f"invalid binary size: {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"binary size must not be negative: {value!r}")
            return cls(value)
        if isinstance(value, float | Decimal):
            if value < 0 or not math.isfinite(float(value)):
                raise ValueError(f"invalid binary size: {value!r}")
            return cls(int(value))
        m = _SIZE_RE.match(value)
        if m is None:
            raise ValueError(f"invalid binary size: {value!r}")
        num = Decimal(m.group("num"))
        scale = 1024 ** _SIZE_UNITS[m.group("unit").lower()]
        return cls(int((num * scale).to_integral_value(rounding=ROUND_DOWN)))

    def to_str(self) -> str:
        """Shortest exact suffix form: 4294967296 -> "4g", 1536 -> "1536" is avoided as "1.5k"."""
        value = int(self)
        if value == 0:
            return "0"
        for suffix in "eptgmk":
            scale = 1024 ** _SIZE_UNITS[suffix]
            if value >= scale:
                q = Decimal(value) / Decimal(scale)
                if q == q.to_integral_value() or (q * 100) == (q * 100).to_integral_value():
                    text = format(q.normalize(), "f")
                    return f"{text}{suffix}"
        return str(value)

    def __format__(self, spec: str) -> str:
        if spec == "s":
            return self.to_str()
        return super().__format__(spec)

    def __repr__(self) -> str:
        return f"BinarySize({int(self)})"


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"invalid slot amount: {value!r}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"invalid slot amount: {value!r}")
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"invalid slot amount: {value!r}") from None
        if not d.is_finite():
            raise ValueError(f"invalid slot amount: {value!r}")
        return d
    raise ValueError(f"invalid slot amount: {value!r}")


class ResourceSlot(dict[str, Decimal]):
    """Amounts per slot name ("cpu", "mem", "cuda.device"...), with element-wise arithmetic.

    Missing keys count as zero, so comparisons and sums work across slot sets that differ.
    `a <= b` means every amount in `a` fits in `b`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for k, v in dict(*args, **kwargs).items():
            self[k] = _to_decimal(v)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, _to_decimal(value))

    def copy(self) -> ResourceSlot:
        return ResourceSlot(self)

    # arithmetic
    def _keys_with(self, other: Mapping[str, Any]) -> list[str]:
        return list(dict.fromkeys([*self.keys(), *other.keys()]))

    def __add__(self, other: Mapping[str, Any]) -> ResourceSlot:
        o = other if isinstance(other, ResourceSlot) else ResourceSlot(other)
        return ResourceSlot({k: self.get(k, Decimal(0)) + o.get(k, Decimal(0)) for k in self._keys_with(o)})

    def __sub__(self, other: Mapping[str, Any]) -> ResourceSlot:
        o = other if isinstance(other, ResourceSlot) else ResourceSlot(other)
        return ResourceSlot({k: self.get(k, Decimal(0)) - o.get(k, Decimal(0)) for k in self._keys_with(o)})

    def __neg__(self) -> ResourceSlot:
        return ResourceSlot({k: -v for k, v in self.items()})

    def __mul__(self, factor: int | Decimal) -> ResourceSlot:
        f = _to_decimal(factor)
        return ResourceSlot({k: v * f for k, v in self.items()})

    __rmul__ = __mul__

    # comparisons (partial order)
    def _cmp_pairs(self, other: Mapping[str, Any]) -> list[tuple[Decimal, Decimal]]:
        o = other if isinstance(other, ResourceSlot) else ResourceSlot(other)
        return [(self.get(k, Decimal(0)), o.get(k, Decimal(0))) for k in self._keys_with(o)]

    def __le__(self, other: Mapping[str, Any]) -> bool:  # type: ignore[override]
        return all(a <= b for a, b in self._cmp_pairs(other))

    def __ge__(self, other: Mapping[str, Any]) -> bool:  # type: ignore[override]
        return all(a >= b for a, b in self._cmp_pairs(other))

    def __lt__(self, other: Mapping[str, Any]) -> bool:  # type: ignore[override]
        return self <= other and self != other

    def __gt__(self, other: Mapping[str, Any]) -> bool:  # type: ignore[override]
        return self >= other and self != other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return all(a == b for a, b in self._cmp_pairs(other))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    # helpers
    def is_zero(self) -> bool:
        return all(v == 0 for v in self.values())

    def has_negative(self) -> bool:
        return any(v < 0 for v in self.values())

    def shortfall(self, available: Mapping[str, Any]) -> ResourceSlot:
        """What `available` lacks to hold `self` (only the slots that fall short)."""
        avail = available if isinstance(available, ResourceSlot) else ResourceSlot(available)
        return ResourceSlot(
            {k: v - avail.get(k, Decimal(0)) for k, v in self.items() if v > avail.get(k, Decimal(0))}
        )

    def filter_slots(self, names: Iterable[str]) -> ResourceSlot:
        keep = set(names)
        return ResourceSlot({k: v for k, v in self.items() if k in keep})

    def normalize_slots(self, known: Mapping[str, SlotTypes], *, ignore_unknown: bool) -> ResourceSlot:
        """Add zeros for known slots; reject (or drop) slot names the cluster does not know."""
        unknown = set(self.keys()) - set(known.keys())
        if unknown and not ignore_unknown:
            raise ValueError(f"unknown resource slots: {', '.join(sorted(unknown))}")
        return ResourceSlot({k: self.get(k, Decimal(0)) for k in known})

    @classmethod
    def from_user_input(
        cls, data: Mapping[str, Any], slot_types: Mapping[str, SlotTypes] | None = None
    ) -> ResourceSlot:
        """Parse amounts as users write them: "4g" for byte slots, "0.5" for fractions."""
        result = cls()
        for k, v in data.items():
            if v is None:
                continue
            stype = (slot_types or {}).get(k)
            if stype is None and k == "mem":
                stype = SlotTypes.BYTES
            if stype == SlotTypes.BYTES and isinstance(v, str):
                result[k] = Decimal(BinarySize.from_str(v))
            else:
                result[k] = _to_decimal(v)
            if result[k] < 0:
                raise ValueError(f"resource slot {k} must not be negative: {v!r}")
        return result

    def to_json(self) -> dict[str, str]:
        """JSON-safe form (strings keep Decimal precision), as the API returns slot fields."""
        return {k: _fmt_decimal(v) for k, v in self.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ResourceSlot:
        return cls(data or {})

    def to_humanized(self, slot_types: Mapping[str, SlotTypes] | None = None) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.items():
            stype = (slot_types or {}).get(k, SlotTypes.BYTES if k == "mem" else SlotTypes.COUNT)
            out[k] = BinarySize(int(v)).to_str() if stype == SlotTypes.BYTES else _fmt_decimal(v)
        return out

    def __repr__(self) -> str:
        return f"ResourceSlot({self.to_json()!r})"


def _fmt_decimal(v: Decimal) -> str:
    if v == v.to_integral_value():
        return str(v.quantize(Decimal(1)))
    return format(v.normalize(), "f")


class HostPortPair(tuple[str, int]):
    """A ("host", port) address as configs write it: {host=..., port=...} or "host:port"."""

    def __new__(cls, host: str, port: int) -> HostPortPair:
        return super().__new__(cls, (host, int(port)))

    def __getnewargs__(self) -> tuple[str, int]:  # type: ignore[override]
        # copy/deepcopy/pickle re-create it through __new__(host, port)
        return (self.host, self.port)

    @property
    def host(self) -> str:
        return self[0]

    @property
    def port(self) -> int:
        return self[1]

    @classmethod
    def parse(cls, value: str | Mapping[str, Any]) -> HostPortPair:
        if isinstance(value, Mapping):
            return cls(str(value["host"]), int(value["port"]))
        host, sep, port = value.rpartition(":")
        if not sep or not host:
            raise ValueError(f"expected host:port, got {value!r}")
        return cls(host.strip("[]"), int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
