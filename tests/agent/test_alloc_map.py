"""Allocation maps: placement strategies, exhaustion, release, NUMA affinity, fractions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ai.backend.agent.alloc_map import (
    AffinityHint,
    AllocationStrategy,
    DeviceSlotInfo,
    DiscretePropertyAllocMap,
    FractionAllocMap,
    InsufficientResource,
    InvalidResourceArgument,
)
from ai.backend.common.types import SlotTypes

D = Decimal
FILL = AllocationStrategy.FILL
EVENLY = AllocationStrategy.EVENLY


def cores(n: int, *, per_node: int | None = None) -> dict[str, DeviceSlotInfo]:
    return {
        str(i): DeviceSlotInfo(SlotTypes.COUNT, "cpu", D(1), None if per_node is None else i // per_node)
        for i in range(n)
    }


def gpus(caps: list[str], slot: str = "cuda.shares", nodes: list[int] | None = None) -> dict[str, DeviceSlotInfo]:
    return {
        f"g{i}": DeviceSlotInfo(SlotTypes.COUNT, slot, D(c), None if nodes is None else nodes[i])
        for i, c in enumerate(caps)
    }


def flat(alloc: dict) -> dict[str, dict[str, str]]:
    return {s: {d: str(a) for d, a in per.items()} for s, per in alloc.items()}


# --- discrete ------------------------------------------------------------------------------


def test_discrete_fill_takes_cores_in_order_until_exhausted() -> None:
    m = DiscretePropertyAllocMap(cores(4))
    a = m.allocate({"cpu": 2})
    assert flat(a) == {"cpu": {"0": "1", "1": "1"}}
    b = m.allocate({"cpu": "2"})
    assert flat(b) == {"cpu": {"2": "1", "3": "1"}}
    assert m.available("cpu") == 0
    with pytest.raises(InsufficientResource) as e:
        m.allocate({"cpu": 1})
    assert e.value.slot_name == "cpu" and e.value.requested == 1 and e.value.available == 0
    assert "insufficient cpu: requested 1, available 0" in str(e.value)
    m.free(a)
    assert m.available("cpu") == 2
    c = m.allocate({"cpu": 2})
    assert flat(c) == {"cpu": {"0": "1", "1": "1"}}


def test_discrete_rejects_fractions_unknown_slots_and_negatives() -> None:
    m = DiscretePropertyAllocMap(cores(2))
    with pytest.raises(InvalidResourceArgument, match="whole units"):
        m.allocate({"cpu": "1.5"})
    with pytest.raises(InvalidResourceArgument, match="unknown resource slot"):
        m.allocate({"cuda.device": 1})
    with pytest.raises(InvalidResourceArgument, match="negative"):
        m.allocate({"cpu": -1})
    with pytest.raises(InvalidResourceArgument, match="invalid amount"):
        m.allocate({"cpu": "lots"})
    assert m.allocate({"cpu": 0}) == {}
    assert m.used("cpu") == 0


def test_memory_is_one_device_counted_in_bytes() -> None:
    total = 8 * 2**30
    m = DiscretePropertyAllocMap({"root": DeviceSlotInfo(SlotTypes.BYTES, "mem", D(total))})
    a = m.allocate({"mem": 3 * 2**30})
    assert a == {"mem": {"root": D(3 * 2**30)}}
    m.allocate({"mem": 5 * 2**30})
    with pytest.raises(InsufficientResource):
        m.allocate({"mem": 1})
    m.free(a)
    assert m.available("mem") == 3 * 2**30


def test_allocation_of_several_slots_is_all_or_nothing() -> None:
    devs = {
        "root": DeviceSlotInfo(SlotTypes.BYTES, "mem", D(100)),
        **cores(2),
    }
    m = DiscretePropertyAllocMap(devs)
    with pytest.raises(InsufficientResource):
        m.allocate({"mem": 50, "cpu": 3})
    assert m.used("mem") == 0 and m.used("cpu") == 0
    assert flat(m.allocate({"mem": 50, "cpu": 2})) == {"mem": {"root": "50"}, "cpu": {"0": "1", "1": "1"}}


def test_discrete_fill_prefers_the_tightest_single_device() -> None:
    devs = {
        "a": DeviceSlotInfo(SlotTypes.COUNT, "x", D(4)),
        "b": DeviceSlotInfo(SlotTypes.COUNT, "x", D(4)),
    }
    m = DiscretePropertyAllocMap(devs)
    assert flat(m.allocate({"x": 3})) == {"x": {"a": "3"}}
    assert flat(m.allocate({"x": 1})) == {"x": {"a": "1"}}  # fills a before touching b
    assert flat(m.allocate({"x": 2})) == {"x": {"b": "2"}}
    m2 = DiscretePropertyAllocMap(devs)
    m2.allocate({"x": 3})
    # 5 does not fit one device: the largest rooms are used first (b: 4, then a: 1)
    assert flat(m2.allocate({"x": 5})) == {"x": {"b": "4", "a": "1"}}


def test_discrete_evenly_spreads_by_water_filling() -> None:
    devs = {name: DeviceSlotInfo(SlotTypes.COUNT, "x", D(4)) for name in "abc"}
    m = DiscretePropertyAllocMap(devs, strategy=EVENLY)
    assert flat(m.allocate({"x": 2})) == {"x": {"a": "1", "b": "1"}}
    # rooms now a3 b3 c4: c is lowered to 3 first, then all three share the rest
    assert flat(m.allocate({"x": 4})) == {"x": {"c": "2", "a": "1", "b": "1"}}
    assert m.allocations["x"] == {"a": 2, "b": 2, "c": 2}
    with pytest.raises(InsufficientResource):
        m.allocate({"x": 7})
    assert flat(m.allocate({"x": 6})) == {"x": {"a": "2", "b": "2", "c": "2"}}


def test_evenly_handles_byte_sized_units_without_iterating_per_unit() -> None:
    devs = {n: DeviceSlotInfo(SlotTypes.BYTES, "mem", D(2**40)) for n in ("n0", "n1")}
    m = DiscretePropertyAllocMap(devs, strategy=EVENLY)
    a = m.allocate({"mem": 2**40 + 1})
    assert sum(a["mem"].values()) == 2**40 + 1
    assert abs(a["mem"]["n0"] - a["mem"]["n1"]) <= 1


# --- NUMA ----------------------------------------------------------------------------------


def test_fill_keeps_a_request_within_one_numa_node_when_possible() -> None:
    m = DiscretePropertyAllocMap(cores(8, per_node=4))
    assert set(m.allocate({"cpu": 3})["cpu"]) == {"0", "1", "2"}
    # node 0 has one core left: the next 3-core request goes to node 1 whole
    assert set(m.allocate({"cpu": 3})["cpu"]) == {"4", "5", "6"}
    # a 1-core request picks the tightest node that fits (node 0, then node 1)
    assert set(m.allocate({"cpu": 1})["cpu"]) == {"3"}
    assert set(m.allocate({"cpu": 1})["cpu"]) == {"7"}


def test_spans_numa_nodes_only_when_no_single_node_fits() -> None:
    m = DiscretePropertyAllocMap(cores(8, per_node=4))
    m.allocate({"cpu": 3})
    m.allocate({"cpu": 3})
    a = m.allocate({"cpu": 2})
    assert set(a["cpu"]) == {"3", "7"}
    assert m.numa_nodes_of(a) == {0, 1}


def test_evenly_prefers_the_emptiest_numa_node() -> None:
    m = DiscretePropertyAllocMap(cores(8, per_node=4), strategy=EVENLY)
    m.apply_allocation({"cpu": {"0": 1}})
    assert set(m.allocate({"cpu": 2})["cpu"]) == {"4", "5"}


def test_affinity_hint_prefers_and_strict_hint_requires_given_nodes() -> None:
    m = DiscretePropertyAllocMap(cores(8, per_node=4))
    a = m.allocate({"cpu": 2}, affinity_hint=AffinityHint(frozenset({1})))
    assert set(a["cpu"]) == {"4", "5"}
    with pytest.raises(InsufficientResource, match="restricted to NUMA nodes"):
        m.allocate({"cpu": 3}, affinity_hint=AffinityHint(frozenset({1}), strict=True))
    b = m.allocate({"cpu": 3}, affinity_hint=AffinityHint(frozenset({1})))
    assert {"6", "7"} <= set(b["cpu"]) and len(b["cpu"]) == 3  # both node-1 cores, then one more


def test_gpu_numa_nodes_feed_a_cpu_hint() -> None:
    g = DiscretePropertyAllocMap(gpus(["1", "1"], slot="cuda.device", nodes=[0, 1]))
    c = DiscretePropertyAllocMap(cores(8, per_node=4))
    g.allocate({"cuda.device": 1})
    ga = g.allocate({"cuda.device": 1})
    hint = AffinityHint(frozenset(g.numa_nodes_of(ga)))
    assert set(c.allocate({"cpu": 2}, affinity_hint=hint)["cpu"]) == {"4", "5"}


# --- fractional ----------------------------------------------------------------------------


def test_fraction_fill_best_fit_then_split_then_exhausted() -> None:
    m = FractionAllocMap(gpus(["1", "1"]))
    assert flat(m.allocate({"cuda.shares": "0.5"})) == {"cuda.shares": {"g0": "0.5"}}
    assert flat(m.allocate({"cuda.shares": "0.3"})) == {"cuda.shares": {"g0": "0.3"}}  # tighter fit
    assert flat(m.allocate({"cuda.shares": "0.5"})) == {"cuda.shares": {"g1": "0.5"}}
    # 0.7 fits no single device (g0: 0.2, g1: 0.5): split, largest room first
    assert flat(m.allocate({"cuda.shares": "0.7"})) == {"cuda.shares": {"g1": "0.5", "g0": "0.2"}}
    assert m.available("cuda.shares") == 0
    with pytest.raises(InsufficientResource):
        m.allocate({"cuda.shares": "0.01"})


def test_fraction_release_makes_shares_reusable() -> None:
    m = FractionAllocMap(gpus(["1"]))
    a = m.allocate({"cuda.shares": "0.25"})
    b = m.allocate({"cuda.shares": "0.75"})
    m.free(a)
    assert m.available("cuda.shares") == D("0.25")
    assert flat(m.allocate({"cuda.shares": "0.25"})) == {"cuda.shares": {"g0": "0.25"}}
    m.free(b)
    assert m.used("cuda.shares") == D("0.25")
    m.free(b)  # a second free never drives a device below zero
    assert m.used("cuda.shares") == 0 and m.allocations["cuda.shares"]["g0"] == 0


def test_fraction_amounts_must_be_multiples_of_the_quantum() -> None:
    m = FractionAllocMap(gpus(["1"]), quantum_size=D("0.05"))
    with pytest.raises(InvalidResourceArgument, match="multiple of 0.05"):
        m.allocate({"cuda.shares": "0.33"})
    assert flat(m.allocate({"cuda.shares": "0.35"})) == {"cuda.shares": {"g0": "0.35"}}


def test_fraction_capacities_are_floored_to_the_quantum() -> None:
    m = FractionAllocMap(gpus(["10.87"]), quantum_size=D("0.1"))
    assert m.capacity("cuda.shares") == D("10.8")


def test_fraction_evenly_uses_the_emptiest_devices_with_equal_shares() -> None:
    m = FractionAllocMap(gpus(["1", "1", "1", "1"]), strategy=EVENLY)
    m.allocate({"cuda.shares": "0.2"})  # g0
    assert flat(m.allocate({"cuda.shares": "0.5"})) == {"cuda.shares": {"g1": "0.5"}}
    a = m.allocate({"cuda.shares": "1.5"})
    assert flat(a) == {"cuda.shares": {"g2": "0.75", "g3": "0.75"}}
    b = m.allocate({"cuda.shares": "0.07"})
    assert flat(b) == {"cuda.shares": {"g0": "0.07"}}  # g0 has the most room (0.8)


def test_fraction_evenly_splits_uneven_quanta() -> None:
    m = FractionAllocMap(gpus(["1", "1", "1"]), strategy=EVENLY)
    a = m.allocate({"cuda.shares": "2.9"})
    assert sorted(a["cuda.shares"].values()) == [D("0.96"), D("0.97"), D("0.97")]
    assert sum(a["cuda.shares"].values()) == D("2.9")


def test_fraction_numa_hint() -> None:
    m = FractionAllocMap(gpus(["1", "1"], nodes=[0, 1]))
    a = m.allocate({"cuda.shares": "0.5"}, affinity_hint=AffinityHint(frozenset({1})))
    assert flat(a) == {"cuda.shares": {"g1": "0.5"}}


# --- restore -------------------------------------------------------------------------------


def test_apply_allocation_restores_recorded_usage_and_rejects_unknown_devices() -> None:
    m = DiscretePropertyAllocMap(cores(2))
    m.apply_allocation({"cpu": {"1": "1"}})
    assert flat(m.allocate({"cpu": 1})) == {"cpu": {"0": "1"}}
    with pytest.raises(InvalidResourceArgument, match="unknown device"):
        m.apply_allocation({"cpu": {"9": 1}})
    with pytest.raises(InvalidResourceArgument, match="unknown slot"):
        m.apply_allocation({"cuda.device": {"0": 1}})
    assert m.used("cpu") == 2
