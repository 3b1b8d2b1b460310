"""The intrinsic compute plugins every agent has: `cpu` (COUNT, one device per core, pinned
with a cpuset) and `mem` (BYTES, one "root" device, enforced as the memory cgroup limit).

Reserved amounts ([resource] reserved-cpu / reserved-mem) are kept for the host: the first
`reserved-cpu` cores and `reserved-mem` bytes never appear in the allocation maps.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil

from ai.backend.common.types import BinarySize, SlotTypes

from .alloc_map import (
    AbstractAllocMap,
    AllocationStrategy,
    DeviceAllocation,
    DeviceSlotInfo,
    DiscretePropertyAllocMap,
)
from .resources import AbstractComputePlugin, ComputeDevice

_NODE_ROOT = Path("/sys/devices/system/node")


def parse_cpu_list(text: str) -> list[int]:
    """"0-3,8,10-11" -> [0, 1, 2, 3, 8, 10, 11]"""
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def numa_node_of_cores(node_root: Path = _NODE_ROOT) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for node_dir in sorted(node_root.glob("node[0-9]*")):
        try:
            cores = parse_cpu_list((node_dir / "cpulist").read_text())
        except OSError:
            continue
        node = int(node_dir.name[4:])
        for c in cores:
            mapping[c] = node
    return mapping


def _resource_cfg(local_config: Mapping[str, Any]) -> Mapping[str, Any]:
    return local_config.get("resource") or {}


def _strategy(local_config: Mapping[str, Any]) -> AllocationStrategy:
    return AllocationStrategy(_resource_cfg(local_config).get("allocation-strategy", "fill"))


class CPUPlugin(AbstractComputePlugin):
    key = "cpu"

    def __init__(
        self,
        plugin_config: Mapping[str, Any],
        local_config: Mapping[str, Any],
        *,
        cores: Sequence[int] | None = None,
        numa_nodes: Mapping[int, int] | None = None,
    ) -> None:
        super().__init__(plugin_config, local_config)
        all_cores = sorted(cores if cores is not None else os.sched_getaffinity(0))
        reserved = int(_resource_cfg(local_config).get("reserved-cpu", 0))
        if reserved >= len(all_cores):
            raise ValueError(
                f"[resource] reserved-cpu = {reserved} leaves no core for kernels (this host has {len(all_cores)})"
            )
        self.cores = all_cores[reserved:]
        self.numa = dict(numa_nodes) if numa_nodes is not None else numa_node_of_cores()

    def get_version(self) -> str:
        return "1.0"

    def slot_types(self) -> list[tuple[str, SlotTypes]]:
        return [("cpu", SlotTypes.COUNT)]

    async def list_devices(self) -> list[ComputeDevice]:
        return [
            ComputeDevice(str(c), f"cpu{c}", self.numa.get(c), 0, 1, platform.processor() or platform.machine())
            for c in self.cores
        ]

    async def available_slots(self) -> dict[str, Decimal]:
        return {"cpu": Decimal(len(self.cores))}

    async def create_alloc_map(self) -> AbstractAllocMap:
        return DiscretePropertyAllocMap(
            {str(c): DeviceSlotInfo(SlotTypes.COUNT, "cpu", Decimal(1), self.numa.get(c)) for c in self.cores},
            strategy=_strategy(self.local_config),
        )

    async def generate_docker_args(self, device_alloc: DeviceAllocation) -> dict[str, Any]:
        cores = sorted(int(d) for d, a in device_alloc.get("cpu", {}).items() if a > 0)
        if not cores:
            return {}
        return {"HostConfig": {"CpusetCpus": ",".join(map(str, cores))}}

    def get_metadata(self) -> dict[str, dict[str, Any]]:
        return {"cpu": {"slot_name": "cpu", "human_readable_name": "CPU", "description": "CPU",
                        "display_unit": "Core", "number_format": {"binary": False, "round_length": 0},
                        "display_icon": "cpu"}}


class MemoryPlugin(AbstractComputePlugin):
    key = "mem"

    def __init__(
        self,
        plugin_config: Mapping[str, Any],
        local_config: Mapping[str, Any],
        *,
        total: int | None = None,
    ) -> None:
        super().__init__(plugin_config, local_config)
        host_total = total if total is not None else psutil.virtual_memory().total
        reserved = int(_resource_cfg(local_config).get("reserved-mem", 0))
        if reserved >= host_total:
            raise ValueError(
                f"[resource] reserved-mem = {BinarySize(reserved):s} leaves no memory for kernels "
                f"(this host has {BinarySize(host_total):s})"
            )
        self.total = host_total - reserved

    def get_version(self) -> str:
        return "1.0"

    def slot_types(self) -> list[tuple[str, SlotTypes]]:
        return [("mem", SlotTypes.BYTES)]

    async def list_devices(self) -> list[ComputeDevice]:
        return [ComputeDevice("root", "root", None, self.total, 0, "memory")]

    async def available_slots(self) -> dict[str, Decimal]:
        return {"mem": Decimal(self.total)}

    async def create_alloc_map(self) -> AbstractAllocMap:
        return DiscretePropertyAllocMap({"root": DeviceSlotInfo(SlotTypes.BYTES, "mem", Decimal(self.total))})

    async def generate_docker_args(self, device_alloc: DeviceAllocation) -> dict[str, Any]:
        amount = int(sum(device_alloc.get("mem", {}).values(), Decimal(0)))
        if amount <= 0:
            return {}
        # No swap beyond the limit: the cgroup limit is what the kernel was given.
        return {"HostConfig": {"Memory": amount, "MemorySwap": amount}}

    def get_metadata(self) -> dict[str, dict[str, Any]]:
        return {"mem": {"slot_name": "mem", "human_readable_name": "RAM", "description": "Memory",
                        "display_unit": "GiB", "number_format": {"binary": True, "round_length": 0},
                        "display_icon": "cpu"}}
