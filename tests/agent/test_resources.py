"""Intrinsic cpu/mem plugins and the ResourceManager that routes slots to plugins."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ai.backend.agent.alloc_map import InsufficientResource, InvalidResourceArgument
from ai.backend.agent.intrinsic import CPUPlugin, MemoryPlugin, numa_node_of_cores, parse_cpu_list
from ai.backend.agent.resources import KernelResourceSpec, ResourceManager

CFG = {"resource": {"reserved-cpu": 1, "reserved-mem": 2**30}}


async def manager(cores: int = 4, mem: int = 5 * 2**30) -> ResourceManager:
    return await ResourceManager.create({
        "cpu": CPUPlugin({}, CFG, cores=range(cores), numa_nodes={}),
        "mem": MemoryPlugin({}, CFG, total=mem),
    })


def test_cpu_lists_and_numa_nodes_from_sysfs(tmp_path: Path) -> None:
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    for node, cpus in (("node0", "0-1"), ("node1", "2-3")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "cpulist").write_text(cpus)
    assert numa_node_of_cores(tmp_path) == {0: 0, 1: 0, 2: 1, 3: 1}


async def test_reserved_amounts_are_kept_for_the_host() -> None:
    rm = await manager()
    assert rm.capacity() == {"cpu": 3, "mem": 4 * 2**30}
    devices = await rm.plugins["cpu"].list_devices()
    assert [d.device_id for d in devices] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="reserved-cpu = 1 leaves no core"):
        CPUPlugin({}, CFG, cores=[0])
    with pytest.raises(ValueError, match="reserved-mem = 1g leaves no memory"):
        MemoryPlugin({}, CFG, total=2**30)


async def test_cpuset_and_memory_limit_from_an_allocation() -> None:
    rm = await manager()
    spec = rm.allocate({"cpu": "2", "mem": "1073741824"})
    assert await rm.docker_args(spec) == {
        "HostConfig": {"CpusetCpus": "1,2", "Memory": 2**30, "MemorySwap": 2**30},
    }
    assert spec.slots == {"cpu": 2, "mem": 2**30}


async def test_all_or_nothing_across_plugins() -> None:
    rm = await manager()
    rm.allocate({"cpu": 1})
    with pytest.raises(InsufficientResource, match="insufficient mem"):
        rm.allocate({"cpu": 2, "mem": 5 * 2**30})
    assert rm.occupied() == {"cpu": 1, "mem": 0}
    with pytest.raises(InvalidResourceArgument, match="invalid amount"):
        rm.allocate({"cpu": "two"})
    # an unknown slot asked for with zero is fine (the manager sends every known slot)
    assert rm.allocate({"cpu": 1, "cuda.device": 0}).slots == {"cpu": 1}


async def test_spec_round_trips_and_restores_after_a_restart() -> None:
    rm = await manager()
    spec = rm.allocate({"cpu": 2, "mem": 2**30})
    data = spec.to_json()
    assert data == {"slots": {"cpu": "2", "mem": "1073741824"},
                    "allocations": {"cpu": {"cpu": {"1": "1", "2": "1"}}, "mem": {"mem": {"root": "1073741824"}}}}
    again = KernelResourceSpec.from_json(data)
    fresh = await manager()
    fresh.restore(again)
    assert fresh.occupied() == {"cpu": 2, "mem": 2**30}
    assert fresh.allocate({"cpu": 1}).device_ids("cpu") == ["3"]
    with pytest.raises(InvalidResourceArgument, match="plugin 'cuda'"):
        fresh.restore(KernelResourceSpec.from_json({"allocations": {"cuda": {"cuda.device": {"0": "1"}}}}))
    assert fresh.occupied()["cpu"] == Decimal(3)
