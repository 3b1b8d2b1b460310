"""Allocation maps: which device gives how much of each resource slot to which kernel.

Pure bookkeeping without I/O, so every placement rule is unit-tested. A map holds the
devices of one compute plugin (CPU cores, the memory "root" device, GPUs...), each offering
a capacity of one slot. `allocate()` places a request on devices and returns
{slot: {device: amount}}; `free()` gives it back; `apply_allocation()` re-marks what a
restarted agent finds its containers holding.

Two kinds of maps:
- DiscretePropertyAllocMap: whole units per device (cores, GPUs, bytes of memory).
- FractionAllocMap: fractions of devices in multiples of a quantum (shares of a GPU).

Two strategies:
- FILL packs a request into as few devices as possible, preferring the device that fits it
  most tightly, so whole devices stay free for large requests.
- EVENLY spreads a request over the devices with the most room, balancing their load.

NUMA: without a hint, a request is first tried within a single NUMA node; with an
AffinityHint it prefers (or, when strict, requires) devices on the given nodes.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from ai.backend.common.types import SlotTypes

DeviceId = str
SlotName = str
DeviceAllocation = dict[SlotName, dict[DeviceId, Decimal]]


class AllocationStrategy(enum.StrEnum):
    FILL = "fill"
    EVENLY = "evenly"


@dataclass(frozen=True)
class DeviceSlotInfo:
    """One device's capacity of one slot."""

    slot_type: SlotTypes
    slot_name: SlotName
    amount: Decimal
    numa_node: int | None = None


@dataclass(frozen=True)
class AffinityHint:
    """Prefer devices on these NUMA nodes (e.g. the nodes of the GPUs already chosen)."""

    numa_nodes: frozenset[int]
    strict: bool = False


class ResourceAllocationError(Exception):
    pass


class InvalidResourceArgument(ResourceAllocationError, ValueError):
    """The request itself is malformed (unknown slot, negative or non-integral amount)."""


class InsufficientResource(ResourceAllocationError):
    def __init__(self, slot_name: str, requested: Decimal, available: Decimal, detail: str = "") -> None:
        self.slot_name = slot_name
        self.requested = requested
        self.available = available
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"insufficient {slot_name}: requested {_fmt(requested)}, available {_fmt(available)}{extra}"
        )


def _fmt(v: Decimal) -> str:
    return format(v.normalize(), "f") if v != v.to_integral_value() else str(int(v))


def _norm(v: Decimal) -> Decimal:
    """0.50 -> 0.5 and 100 stays 100 (not 1E+2)."""
    return v.quantize(Decimal(1)) if v == v.to_integral_value() else v.normalize()


def _dec(value: Any, slot: str) -> Decimal:
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidResourceArgument(f"invalid amount for {slot}: {value!r}") from None
    if not d.is_finite():
        raise InvalidResourceArgument(f"invalid amount for {slot}: {value!r}")
    return d


class AbstractAllocMap(ABC):
    def __init__(
        self,
        device_slots: Mapping[DeviceId, DeviceSlotInfo],
        *,
        strategy: AllocationStrategy = AllocationStrategy.FILL,
    ) -> None:
        self.device_slots: dict[DeviceId, DeviceSlotInfo] = dict(device_slots)
        self.strategy = AllocationStrategy(strategy)
        self.allocations: dict[SlotName, dict[DeviceId, Decimal]] = {}
        for dev, info in self.device_slots.items():
            self.allocations.setdefault(info.slot_name, {})[dev] = Decimal(0)

    # --- inspection ---------------------------------------------------------------------

    @property
    def slot_names(self) -> list[SlotName]:
        return list(self.allocations)

    def devices_of(self, slot: SlotName) -> list[DeviceId]:
        return list(self.allocations.get(slot, {}))

    def capacity(self, slot: SlotName) -> Decimal:
        return sum((self.device_slots[d].amount for d in self.devices_of(slot)), Decimal(0))

    def used(self, slot: SlotName) -> Decimal:
        return sum(self.allocations.get(slot, {}).values(), Decimal(0))

    def available(self, slot: SlotName) -> Decimal:
        return self.capacity(slot) - self.used(slot)

    def remaining(self, device: DeviceId) -> Decimal:
        info = self.device_slots[device]
        return info.amount - self.allocations[info.slot_name][device]

    def numa_nodes_of(self, alloc: Mapping[SlotName, Mapping[DeviceId, Any]]) -> set[int]:
        nodes: set[int] = set()
        for per_dev in alloc.values():
            for dev, amount in per_dev.items():
                info = self.device_slots.get(dev)
                if info is not None and info.numa_node is not None and Decimal(amount) > 0:
                    nodes.add(info.numa_node)
        return nodes

    # --- allocation ---------------------------------------------------------------------

    def allocate(
        self,
        slots: Mapping[SlotName, Any],
        *,
        affinity_hint: AffinityHint | None = None,
    ) -> DeviceAllocation:
        """Place every requested slot or none of them (raises and leaves the map unchanged)."""
        requests: list[tuple[SlotName, Decimal]] = []
        for slot, raw in slots.items():
            if slot not in self.allocations:
                raise InvalidResourceArgument(f"unknown resource slot {slot!r} for this device map")
            amount = _dec(raw, slot)
            if amount < 0:
                raise InvalidResourceArgument(f"negative amount for {slot}: {raw!r}")
            if amount > 0:
                self._check_amount(slot, amount)
                requests.append((slot, amount))
        result: DeviceAllocation = {}
        try:
            for slot, amount in requests:
                plan = self._plan(slot, amount, affinity_hint)
                plan = {dev: _norm(share) for dev, share in plan.items()}
                for dev, share in plan.items():
                    self.allocations[slot][dev] += share
                result[slot] = plan
        except BaseException:
            self.free(result)
            raise
        return result

    def free(self, alloc: Mapping[SlotName, Mapping[DeviceId, Any]]) -> None:
        """Give an allocation back; unknown devices are ignored and nothing drops below zero."""
        for slot, per_dev in alloc.items():
            used = self.allocations.get(slot)
            if used is None:
                continue
            for dev, amount in per_dev.items():
                if dev in used:
                    used[dev] = max(Decimal(0), used[dev] - Decimal(str(amount)))

    def apply_allocation(self, alloc: Mapping[SlotName, Mapping[DeviceId, Any]]) -> None:
        """Re-mark an allocation recorded earlier (agent restart); raises if a device vanished."""
        for slot, per_dev in alloc.items():
            if slot not in self.allocations:
                raise InvalidResourceArgument(f"recorded allocation names unknown slot {slot!r}")
            for dev in per_dev:
                if dev not in self.allocations[slot]:
                    raise InvalidResourceArgument(f"recorded allocation names unknown device {dev!r} of {slot}")
        for slot, per_dev in alloc.items():
            for dev, amount in per_dev.items():
                self.allocations[slot][dev] += Decimal(str(amount))

    # --- placement ----------------------------------------------------------------------

    def _candidate_groups(self, slot: SlotName, hint: AffinityHint | None) -> list[list[DeviceId]]:
        devices = [d for d in self.devices_of(slot) if self.remaining(d) > 0]
        if hint is not None and hint.numa_nodes:
            preferred = [d for d in devices if self.device_slots[d].numa_node in hint.numa_nodes]
            others = [d for d in devices if d not in preferred]
            return [preferred] if hint.strict else [preferred, preferred + others]
        by_node: dict[int | None, list[DeviceId]] = {}
        for d in devices:
            by_node.setdefault(self.device_slots[d].numa_node, []).append(d)
        if len(by_node) <= 1:
            return [devices]
        # Try one NUMA node first: FILL takes the tightest node, EVENLY the emptiest.
        nodes = sorted(
            by_node.values(),
            key=lambda ds: (sum(self.remaining(d) for d in ds), self._node_key(ds[0])),
            reverse=self.strategy == AllocationStrategy.EVENLY,
        )
        return [*nodes, devices]

    def _node_key(self, device: DeviceId) -> int:
        node = self.device_slots[device].numa_node
        return -1 if node is None else node

    def _plan(self, slot: SlotName, amount: Decimal, hint: AffinityHint | None) -> dict[DeviceId, Decimal]:
        groups = self._candidate_groups(slot, hint)
        for group in groups:
            if group and sum(self.remaining(d) for d in group) >= amount:
                plan = self._plan_in(amount, group)
                if plan is not None:
                    return plan
        eligible = groups[-1] if groups else []
        available = sum((self.remaining(d) for d in eligible), Decimal(0))
        detail = ""
        if hint is not None and hint.strict:
            detail = f"restricted to NUMA nodes {sorted(hint.numa_nodes)}"
        raise InsufficientResource(slot, amount, available, detail)

    def _ordered(self, devices: list[DeviceId]) -> list[DeviceId]:
        """Most room first; ties keep the given order (preferred devices, then device order)."""
        return sorted(devices, key=lambda d: -self.remaining(d))

    def _best_fit(self, amount: Decimal, devices: list[DeviceId]) -> DeviceId | None:
        fitting = [d for d in devices if self.remaining(d) >= amount]
        if not fitting:
            return None
        return min(fitting, key=lambda d: self.remaining(d))

    def _greedy(self, amount: Decimal, devices: list[DeviceId]) -> dict[DeviceId, Decimal] | None:
        plan: dict[DeviceId, Decimal] = {}
        need = amount
        for d in self._ordered(devices):
            if need <= 0:
                break
            take = min(self.remaining(d), need)
            if take > 0:
                plan[d] = take
                need -= take
        return plan if need <= 0 else None

    @abstractmethod
    def _check_amount(self, slot: SlotName, amount: Decimal) -> None: ...

    @abstractmethod
    def _plan_in(self, amount: Decimal, devices: list[DeviceId]) -> dict[DeviceId, Decimal] | None: ...


class DiscretePropertyAllocMap(AbstractAllocMap):
    """Whole units: a core, a GPU, a byte. Requests must be integral."""

    def _check_amount(self, slot: SlotName, amount: Decimal) -> None:
        if amount != amount.to_integral_value():
            raise InvalidResourceArgument(f"{slot} is allocated in whole units, got {_fmt(amount)}")

    def _plan_in(self, amount: Decimal, devices: list[DeviceId]) -> dict[DeviceId, Decimal] | None:
        if self.strategy == AllocationStrategy.FILL:
            single = self._best_fit(amount, devices)
            if single is not None:
                return {single: amount}
            return self._greedy(amount, devices)
        # EVENLY: water-filling -- lower the devices with the most room to a common level.
        ordered = [d for d in self._ordered(devices) if self.remaining(d) >= 1]
        rooms = [self.remaining(d) for d in ordered]
        for k in range(1, len(ordered) + 1):
            next_level = rooms[k] if k < len(rooms) else Decimal(0)
            top = sum(rooms[:k], Decimal(0))
            if top - k * next_level < amount:
                continue
            level = (top - amount + k - 1) // k  # ceil((top - amount) / k); both are >= 0
            takes = [rooms[i] - level for i in range(k)]
            for i in range(int(amount - sum(takes, Decimal(0)))):
                takes[i] += 1
            return {d: t for d, t in zip(ordered[:k], takes, strict=True) if t > 0}
        return None


class FractionAllocMap(AbstractAllocMap):
    """Fractions of devices in multiples of `quantum_size` (e.g. 0.25 of a GPU)."""

    def __init__(
        self,
        device_slots: Mapping[DeviceId, DeviceSlotInfo],
        *,
        strategy: AllocationStrategy = AllocationStrategy.FILL,
        quantum_size: Decimal = Decimal("0.01"),
    ) -> None:
        if quantum_size <= 0:
            raise ValueError("quantum_size must be positive")
        self.quantum_size = quantum_size
        quantized = {
            dev: DeviceSlotInfo(
                info.slot_type, info.slot_name, self._floor(info.amount), info.numa_node
            )
            for dev, info in device_slots.items()
        }
        super().__init__(quantized, strategy=strategy)

    def _floor(self, v: Decimal) -> Decimal:
        return (v / self.quantum_size).to_integral_value(rounding=ROUND_DOWN) * self.quantum_size

    def _check_amount(self, slot: SlotName, amount: Decimal) -> None:
        if amount % self.quantum_size != 0:
            raise InvalidResourceArgument(
                f"{slot} must be a multiple of {_fmt(self.quantum_size)}, got {_fmt(amount)}"
            )

    def _plan_in(self, amount: Decimal, devices: list[DeviceId]) -> dict[DeviceId, Decimal] | None:
        if self.strategy == AllocationStrategy.FILL:
            single = self._best_fit(amount, devices)
            if single is not None:
                return {single: amount}
            return self._greedy(amount, devices)
        # EVENLY: the fewest devices that can each take an equal share (± one quantum).
        ordered = self._ordered(devices)
        quanta = int(amount / self.quantum_size)
        for n in range(1, len(ordered) + 1):
            chosen = ordered[:n]
            base, extra = divmod(quanta, n)
            shares = [(base + (1 if i < extra else 0)) * self.quantum_size for i in range(n)]
            if any(s == 0 for s in shares):
                break
            if all(self.remaining(d) >= s for d, s in zip(chosen, shares, strict=True)):
                return dict(zip(chosen, shares, strict=True))
        return self._greedy(amount, devices)
