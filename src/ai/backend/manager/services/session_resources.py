"""What one container of a new session asks for: its resource slots and resource options.

Requests are read as users write them ("4g", 2, "0.5"), checked against the slot types the
cluster knows (intrinsic cpu/mem plus what agents registered in etcd) and against the image's
minimum and maximum (its ai.backend.resource.{min,max}.* labels). Slots left out take the
image's minimum, as the manual says for a request without resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ai.backend.common.types import BinarySize, ResourceSlot, SlotTypes

from ..errors import InvalidAPIParameters

DEFAULT_SLOTS = {"cpu": Decimal(1), "mem": Decimal(BinarySize.from_str("1g"))}
DEFAULT_SHMEM = BinarySize.from_str("64m")
KNOWN_RESOURCE_OPTS = frozenset({"shmem"})


def _image_limits(image_resources: Mapping[str, Any] | None, which: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for slot, spec in (image_resources or {}).items():
        value = (spec or {}).get(which) if isinstance(spec, Mapping) else None
        if value is None:
            continue
        try:
            out[slot] = Decimal(int(BinarySize.from_str(value))) if slot == "mem" else Decimal(str(value))
        except (ValueError, ArithmeticError):
            continue   # a malformed label is the image's problem, not the request's
    return out


def _show(slot: str, value: Decimal, known: Mapping[str, SlotTypes]) -> str:
    if known.get(slot) == SlotTypes.BYTES or slot == "mem":
        return BinarySize(int(value)).to_str()
    return str(value.normalize()) if value != value.to_integral_value() else str(int(value))


def requested_slots(resources: Mapping[str, Any], known: Mapping[str, SlotTypes],
                    image_resources: Mapping[str, Any] | None) -> ResourceSlot:
    """Per-container slots: validated, defaults filled, only the non-zero ones kept."""
    unknown = sorted(set(resources) - set(known))
    if unknown:
        raise InvalidAPIParameters(
            f"config.resources: unknown resource slot(s) {', '.join(unknown)} "
            f"(this cluster knows {', '.join(sorted(known))})", data={"field": "config.resources", "slots": unknown})
    try:
        slots = ResourceSlot.from_user_input(resources, known)
    except (ValueError, ArithmeticError) as e:
        raise InvalidAPIParameters(f"config.resources: {e}", data={"field": "config.resources"}) from None
    minimum = _image_limits(image_resources, "min")
    maximum = _image_limits(image_resources, "max")
    for slot in ("cpu", "mem"):
        if slot not in slots:
            slots[slot] = max(minimum.get(slot, DEFAULT_SLOTS[slot]), Decimal(0))
    for slot, least in minimum.items():
        if slot in known and slot not in slots:
            slots[slot] = least
    for slot, value in slots.items():
        low = minimum.get(slot)
        if low is not None and value < low:
            raise InvalidAPIParameters(
                f"config.resources.{slot}: {_show(slot, value, known)} is less than the image's minimum "
                f"{_show(slot, low, known)}", data={"field": f"config.resources.{slot}"})
        high = maximum.get(slot)
        if high is not None and value > high:
            raise InvalidAPIParameters(
                f"config.resources.{slot}: {_show(slot, value, known)} is more than the image's maximum "
                f"{_show(slot, high, known)}", data={"field": f"config.resources.{slot}"})
    if slots.get("cpu", Decimal(0)) <= 0:
        raise InvalidAPIParameters("config.resources.cpu: must be positive", data={"field": "config.resources.cpu"})
    if slots.get("mem", Decimal(0)) <= 0:
        raise InvalidAPIParameters("config.resources.mem: must be positive", data={"field": "config.resources.mem"})
    return ResourceSlot({k: v for k, v in slots.items() if v != 0 or k in ("cpu", "mem")})


def resource_opts(opts: Mapping[str, Any], slots: ResourceSlot) -> dict[str, Any]:
    """Options beside the slots; shmem is a byte size below the container's memory."""
    unknown = sorted(set(opts) - KNOWN_RESOURCE_OPTS)
    if unknown:
        raise InvalidAPIParameters(f"config.resource_opts: unknown option(s) {', '.join(unknown)}",
                                   data={"field": "config.resource_opts"})
    raw = opts.get("shmem")
    try:
        shmem = DEFAULT_SHMEM if raw is None else BinarySize.from_str(raw)
    except (ValueError, TypeError):
        raise InvalidAPIParameters(f"config.resource_opts.shmem: not a byte size: {raw!r}",
                                   data={"field": "config.resource_opts.shmem"}) from None
    mem = slots.get("mem", Decimal(0))
    if shmem >= mem:
        if raw is None:      # the default never exceeds a small container's memory
            shmem = BinarySize(int(mem) // 2)
        else:
            raise InvalidAPIParameters(
                f"config.resource_opts.shmem: {shmem.to_str()} must be less than the memory "
                f"{BinarySize(int(mem)).to_str()}", data={"field": "config.resource_opts.shmem"})
    return {"shmem": int(shmem)}
