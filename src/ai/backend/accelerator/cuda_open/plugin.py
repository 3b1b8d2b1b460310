"""The cuda_open compute plugin: each NVIDIA GPU is one unit of the `cuda.device` slot.

Allocated GPUs reach the container as a Docker device request (the NVIDIA container
runtime hook does the rest); fractional GPU sharing is not part of the open-source plugin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ai.backend.agent.alloc_map import (
    AbstractAllocMap,
    AllocationStrategy,
    DeviceAllocation,
    DeviceSlotInfo,
    DiscretePropertyAllocMap,
)
from ai.backend.agent.resources import AbstractComputePlugin, ComputeDevice
from ai.backend.common.types import SlotTypes

from . import nvml

__version__ = "1.0"


class CUDAPlugin(AbstractComputePlugin):
    key = "cuda"

    def __init__(self, plugin_config: Mapping[str, Any], local_config: Mapping[str, Any]) -> None:
        super().__init__(plugin_config, local_config)
        self.gpus: list[nvml.GPUInfo] = []
        self.driver_version = ""
        self.cuda_version = ""

    async def init(self) -> None:
        await asyncio.to_thread(nvml.init)
        self.driver_version = await asyncio.to_thread(nvml.driver_version)
        self.cuda_version = await asyncio.to_thread(nvml.cuda_version)
        self.gpus = await asyncio.to_thread(nvml.list_gpus)
        if not self.gpus:
            raise nvml.NVMLUnavailable("NVML reports no GPU")

    async def cleanup(self) -> None:
        await asyncio.to_thread(nvml.shutdown)

    def get_version(self) -> str:
        return __version__

    def slot_types(self) -> list[tuple[str, SlotTypes]]:
        return [("cuda.device", SlotTypes.COUNT)]

    async def list_devices(self) -> list[ComputeDevice]:
        return [
            ComputeDevice(
                device_id=str(g.index), hw_location=g.pci_bus_id, numa_node=g.numa_node,
                memory_size=g.memory_total, processing_units=g.gpu_cores, model_name=g.name, uuid=g.uuid,
            )
            for g in self.gpus
        ]

    async def available_slots(self) -> dict[str, Decimal]:
        return {"cuda.device": Decimal(len(self.gpus))}

    async def create_alloc_map(self) -> AbstractAllocMap:
        strategy = AllocationStrategy((self.local_config.get("resource") or {}).get("allocation-strategy", "fill"))
        return DiscretePropertyAllocMap(
            {str(g.index): DeviceSlotInfo(SlotTypes.COUNT, "cuda.device", Decimal(1), g.numa_node) for g in self.gpus},
            strategy=strategy,
        )

    def _uuids(self, device_alloc: DeviceAllocation) -> list[str]:
        by_index = {str(g.index): g.uuid for g in self.gpus}
        return [by_index[d] for d, a in sorted(device_alloc.get("cuda.device", {}).items()) if a > 0]

    async def generate_docker_args(self, device_alloc: DeviceAllocation) -> dict[str, Any]:
        uuids = self._uuids(device_alloc)
        if not uuids:
            return {}
        return {"HostConfig": {"DeviceRequests": [
            {"Driver": "nvidia", "DeviceIDs": uuids, "Capabilities": [["gpu"]]},
        ]}}

    async def generate_environ(self, device_alloc: DeviceAllocation) -> dict[str, str]:
        if not self._uuids(device_alloc):
            return {}
        return {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}

    async def extra_info(self) -> dict[str, Any]:
        return {"cuda_support": True, "nvidia_driver_version": self.driver_version, "cuda_version": self.cuda_version}

    async def gather_node_measures(self) -> dict[str, dict[str, Any]]:
        util: dict[str, Any] = {}
        mem: dict[str, Any] = {}
        for g in self.gpus:
            u, used = await asyncio.to_thread(nvml.usage, g.index)
            util[str(g.index)] = Decimal(u)
            mem[str(g.index)] = Decimal(used)
        return {"cuda_util": util, "cuda_mem": mem}

    def get_metadata(self) -> dict[str, dict[str, Any]]:
        return {"cuda.device": {
            "slot_name": "cuda.device", "human_readable_name": "GPU", "description": "CUDA-capable GPU",
            "display_unit": "GPU", "number_format": {"binary": False, "round_length": 0}, "display_icon": "gpu1",
        }}
