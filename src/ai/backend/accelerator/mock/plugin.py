"""The mock compute plugin: devices that exist only in a config file.

Slots are "<slot_name>.device" (whole devices, discrete mode) or "<slot_name>.shares"
(fractions, when etcd `config/plugins/accelerator/<slot_name>/allocation_mode` is
"fractional"; one share = `unit_mem` bytes of device memory and `unit_proc` subprocessors).
MIG-style devices (is_mig_device) get their own unique slot "<slot_name>.<size>-mig".
Containers learn their devices from environment variables; nothing is attached.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ai.backend.agent.alloc_map import (
    AbstractAllocMap,
    AllocationStrategy,
    DeviceAllocation,
    DeviceSlotInfo,
    DiscretePropertyAllocMap,
    FractionAllocMap,
)
from ai.backend.agent.resources import AbstractComputePlugin, ComputeDevice
from ai.backend.common.config import check
from ai.backend.common.types import BinarySize, SlotTypes

from .config import fraction_config_iv, load_mock_config

__version__ = "1.0"


class MockPlugin(AbstractComputePlugin):
    def __init__(self, plugin_config: Mapping[str, Any], local_config: Mapping[str, Any]) -> None:
        super().__init__(plugin_config, local_config)
        self.config: dict[str, Any] = {}
        self.config_path: Path | None = None
        self.mode = "discrete"
        self.fraction_cfg: dict[str, Any] = {}

    async def init(self) -> None:
        self.config, self.config_path = load_mock_config(self.local_config)
        self.key = self.config["slot_name"]
        self.fraction_cfg = check(fraction_config_iv, dict(self.plugin_config.get(self.key) or {}))
        self.mode = self.fraction_cfg["allocation_mode"]

    # --- slots ----------------------------------------------------------------------------

    @property
    def main_slot(self) -> str:
        return f"{self.key}.shares" if self.mode == "fractional" else f"{self.key}.device"

    def _mig_slot(self, dev: Mapping[str, Any]) -> str:
        return f"{self.key}.{BinarySize(dev['memory_size']).to_str()}-mig"

    def _slot_of(self, dev: Mapping[str, Any]) -> str:
        return self._mig_slot(dev) if dev["is_mig_device"] else self.main_slot

    def _share_capacity(self, dev: Mapping[str, Any]) -> Decimal:
        ratios = []
        if self.fraction_cfg["unit_mem"]:
            ratios.append(Decimal(int(dev["memory_size"])) / Decimal(self.fraction_cfg["unit_mem"]))
        if self.fraction_cfg["unit_proc"]:
            ratios.append(Decimal(dev["subproc_count"]) / Decimal(self.fraction_cfg["unit_proc"]))
        return min(ratios) if ratios else Decimal(1)

    def _capacity(self, dev: Mapping[str, Any]) -> Decimal:
        if self.mode == "fractional" and not dev["is_mig_device"]:
            return self._share_capacity(dev)
        return Decimal(1)

    def get_version(self) -> str:
        return __version__

    def slot_types(self) -> list[tuple[str, SlotTypes]]:
        slots: dict[str, SlotTypes] = {}
        for dev in self.config["devices"]:
            slot = self._slot_of(dev)
            slots[slot] = SlotTypes.UNIQUE if dev["is_mig_device"] else SlotTypes.COUNT
        return list(slots.items())

    async def list_devices(self) -> list[ComputeDevice]:
        return [
            ComputeDevice(
                device_id=dev["mother_uuid"], hw_location=f"mock:{idx}", numa_node=dev["numa_node"],
                memory_size=int(dev["memory_size"]), processing_units=dev["subproc_count"],
                model_name=dev["model_name"], uuid=dev["mother_uuid"],
                extra={"is_mig_device": dev["is_mig_device"]},
            )
            for idx, dev in enumerate(self.config["devices"])
        ]

    async def available_slots(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        amap = await self.create_alloc_map()
        for slot in amap.slot_names:
            totals[slot] = amap.capacity(slot)
        return totals

    async def create_alloc_map(self) -> AbstractAllocMap:
        strategy = AllocationStrategy((self.local_config.get("resource") or {}).get("allocation-strategy", "fill"))
        slots = {
            dev["mother_uuid"]: DeviceSlotInfo(
                SlotTypes.UNIQUE if dev["is_mig_device"] else SlotTypes.COUNT,
                self._slot_of(dev), self._capacity(dev), dev["numa_node"],
            )
            for dev in self.config["devices"]
        }
        if self.mode == "fractional":
            return FractionAllocMap(
                slots, strategy=strategy, quantum_size=Decimal(str(self.fraction_cfg["quantum_size"]))
            )
        return DiscretePropertyAllocMap(slots, strategy=strategy)

    # --- containers -----------------------------------------------------------------------

    async def generate_environ(self, device_alloc: DeviceAllocation) -> dict[str, str]:
        index = {dev["mother_uuid"]: i for i, dev in enumerate(self.config["devices"])}
        parts: list[str] = []
        indices: list[int] = []
        for slot, per_dev in sorted(device_alloc.items()):
            for dev_id, amount in sorted(per_dev.items()):
                if Decimal(amount) > 0:
                    parts.append(f"{dev_id}:{slot.split('.', 1)[1]}={amount}")
                    indices.append(index[dev_id])
        if not parts:
            return {}
        env = {f"BACKENDAI_MOCK_{self.key.upper()}_DEVICES": ",".join(parts)}
        if self.config["device_plugin_name"] == "CUDADevice":
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in sorted(set(indices)))
        return env

    async def extra_info(self) -> dict[str, Any]:
        return {"mock": True, "device_plugin_name": self.config["device_plugin_name"],
                "allocation_mode": self.mode, "config_file": str(self.config_path)}

    def get_metadata(self) -> dict[str, dict[str, Any]]:
        meta: dict[str, dict[str, Any]] = {}
        for slot, _ in self.slot_types():
            subtype = slot.split(".", 1)[1]
            fmt = self.config["formats"].get(subtype) or self.config["formats"].get("device") or {}
            meta[slot] = {"slot_name": slot, **fmt}
        return meta
