"""Compute plugins and the agent's view of its resource slots.

A compute plugin declares devices and the resource slots they offer (cpu, mem, cuda.device,
cuda.shares...), builds the allocation map for them and turns an allocation into container
settings (cpuset, memory limit, device requests, environment). Without accelerator plugins
only the intrinsic `cpu` and `mem` plugins exist. Accelerator plugins are modules named in
`[agent] allow-compute-plugins` that expose `compute_plugin_class`.

ResourceManager ties the plugins together: it routes each requested slot to its plugin's
map, allocates accelerators before CPUs (so cores land on the GPUs' NUMA nodes), and records
the result as a KernelResourceSpec that survives agent restarts (stored in container labels).
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ai.backend.common.types import ResourceSlot, SlotTypes

from .alloc_map import (
    AbstractAllocMap,
    AffinityHint,
    DeviceAllocation,
    InvalidResourceArgument,
)

log = logging.getLogger(__name__)


@dataclass
class ComputeDevice:
    device_id: str
    hw_location: str
    numa_node: int | None
    memory_size: int
    processing_units: int
    model_name: str = ""
    uuid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id, "hw_location": self.hw_location, "numa_node": self.numa_node,
            "memory_size": self.memory_size, "processing_units": self.processing_units,
            "model_name": self.model_name, "uuid": self.uuid, **self.extra,
        }


class AbstractComputePlugin(ABC):
    """One kind of device. `plugin_config` is etcd `config/plugins/accelerator` (the plugin
    picks its own key); `local_config` is the validated agent.toml."""

    key: str = ""

    def __init__(self, plugin_config: Mapping[str, Any], local_config: Mapping[str, Any]) -> None:
        self.plugin_config = plugin_config
        self.local_config = local_config

    async def init(self) -> None:
        """Detect devices; raise to have the agent skip this plugin with a logged reason."""
        return None

    async def cleanup(self) -> None:
        return None

    @abstractmethod
    def get_version(self) -> str: ...

    @abstractmethod
    def slot_types(self) -> list[tuple[str, SlotTypes]]: ...

    @abstractmethod
    async def list_devices(self) -> list[ComputeDevice]: ...

    @abstractmethod
    async def available_slots(self) -> dict[str, Decimal]: ...

    @abstractmethod
    async def create_alloc_map(self) -> AbstractAllocMap: ...

    async def generate_docker_args(self, device_alloc: DeviceAllocation) -> dict[str, Any]:
        """Container-create fields for this allocation, e.g. {"HostConfig": {"CpusetCpus": ...}}."""
        return {}

    async def generate_environ(self, device_alloc: DeviceAllocation) -> dict[str, str]:
        return {}

    async def get_attached_devices(self, device_alloc: DeviceAllocation) -> list[dict[str, Any]]:
        devices = {d.device_id: d for d in await self.list_devices()}
        out = []
        for per_dev in device_alloc.values():
            for dev_id, amount in per_dev.items():
                if dev_id in devices and Decimal(amount) > 0:
                    info = devices[dev_id]
                    out.append({"device_id": dev_id, "model_name": info.model_name, "data": {"amount": str(amount)}})
        return out

    async def extra_info(self) -> dict[str, Any]:
        return {}

    async def get_node_hwinfo(self) -> dict[str, Any]:
        devices = await self.list_devices()
        return {
            "status": "healthy",
            "status_info": None,
            "metadata": {"devices": [d.to_json() for d in devices]},
        }

    def get_metadata(self) -> dict[str, dict[str, Any]]:
        """Display hints per slot (human_readable_name, display_unit, number_format...)."""
        return {}

    async def gather_node_measures(self) -> dict[str, dict[str, Any]]:
        """Live per-device measures for the agent's stats: {metric: {device_id: value}}."""
        return {}


def slot_device_key(slot_name: str) -> str:
    """"cuda.shares" -> "cuda"; "cpu" -> "cpu"."""
    return slot_name.split(".", 1)[0]


@dataclass
class KernelResourceSpec:
    """What a kernel holds: the requested slots and where each one was placed."""

    slots: ResourceSlot
    allocations: dict[str, DeviceAllocation]   # plugin key -> slot -> device -> amount

    def to_json(self) -> dict[str, Any]:
        return {
            "slots": self.slots.to_json(),
            "allocations": {
                key: {slot: {dev: str(a) for dev, a in per.items()} for slot, per in alloc.items()}
                for key, alloc in self.allocations.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KernelResourceSpec:
        return cls(
            slots=ResourceSlot(data.get("slots") or {}),
            allocations={
                key: {slot: {dev: Decimal(a) for dev, a in per.items()} for slot, per in alloc.items()}
                for key, alloc in (data.get("allocations") or {}).items()
            },
        )

    def device_ids(self, key: str, slot: str | None = None) -> list[str]:
        alloc = self.allocations.get(key, {})
        slots = [slot] if slot is not None else list(alloc)
        return [d for s in slots for d, a in alloc.get(s, {}).items() if a > 0]


class ResourceManager:
    """The agent's compute plugins and their allocation maps."""

    def __init__(self, plugins: Mapping[str, AbstractComputePlugin], alloc_maps: Mapping[str, AbstractAllocMap]) -> None:
        self.plugins = dict(plugins)
        self.alloc_maps = dict(alloc_maps)
        self._slot_owner: dict[str, str] = {}
        self._slot_types: dict[str, SlotTypes] = {}
        for key, plugin in self.plugins.items():
            for slot, stype in plugin.slot_types():
                self._slot_owner[slot] = key
                self._slot_types[slot] = stype

    @classmethod
    async def create(cls, plugins: Mapping[str, AbstractComputePlugin]) -> ResourceManager:
        maps = {key: await p.create_alloc_map() for key, p in plugins.items()}
        return cls(plugins, maps)

    def slot_types(self) -> dict[str, SlotTypes]:
        return dict(self._slot_types)

    def capacity(self) -> ResourceSlot:
        return ResourceSlot({
            slot: self.alloc_maps[key].capacity(slot) for slot, key in self._slot_owner.items()
        })

    def occupied(self) -> ResourceSlot:
        return ResourceSlot({
            slot: self.alloc_maps[key].used(slot) for slot, key in self._slot_owner.items()
        })

    def _group(self, slots: Mapping[str, Any]) -> dict[str, dict[str, Decimal]]:
        grouped: dict[str, dict[str, Decimal]] = {}
        for slot, raw in slots.items():
            try:
                amount = Decimal(str(raw))
            except Exception:
                raise InvalidResourceArgument(f"invalid amount for {slot}: {raw!r}") from None
            owner = self._slot_owner.get(slot)
            if owner is None:
                if amount != 0:
                    raise InvalidResourceArgument(
                        f"this agent has no {slot!r} resource slot (known: {', '.join(sorted(self._slot_owner))})"
                    )
                continue
            grouped.setdefault(owner, {})[slot] = amount
        return grouped

    def allocate(self, slots: Mapping[str, Any]) -> KernelResourceSpec:
        """Place the requested slots; all or nothing. Accelerators first, then cpu near them."""
        grouped = self._group(slots)
        order = sorted(grouped, key=lambda k: (k in ("cpu", "mem"), k == "mem", k))
        done: dict[str, DeviceAllocation] = {}
        hint_nodes: set[int] = set()
        try:
            for key in order:
                amap = self.alloc_maps[key]
                hint = AffinityHint(frozenset(hint_nodes)) if key == "cpu" and hint_nodes else None
                done[key] = amap.allocate(grouped[key], affinity_hint=hint)
                if key not in ("cpu", "mem"):
                    hint_nodes |= amap.numa_nodes_of(done[key])
        except BaseException:
            self.release_allocations(done)
            raise
        requested = ResourceSlot({s: a for per in grouped.values() for s, a in per.items()})
        return KernelResourceSpec(slots=requested, allocations=done)

    def release_allocations(self, allocations: Mapping[str, DeviceAllocation]) -> None:
        for key, alloc in allocations.items():
            amap = self.alloc_maps.get(key)
            if amap is not None:
                amap.free(alloc)

    def release(self, spec: KernelResourceSpec) -> None:
        self.release_allocations(spec.allocations)

    def restore(self, spec: KernelResourceSpec) -> None:
        """Re-mark a recorded allocation (agent restart); raises if the devices changed."""
        for key in spec.allocations:
            if key not in self.alloc_maps:
                raise InvalidResourceArgument(f"recorded allocation uses plugin {key!r} which is not loaded")
        applied: dict[str, DeviceAllocation] = {}
        try:
            for key, alloc in spec.allocations.items():
                self.alloc_maps[key].apply_allocation(alloc)
                applied[key] = alloc
        except BaseException:
            self.release_allocations(applied)
            raise

    async def docker_args(self, spec: KernelResourceSpec) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for key, alloc in spec.allocations.items():
            _deep_merge(merged, await self.plugins[key].generate_docker_args(alloc))
        return merged

    async def environ(self, spec: KernelResourceSpec) -> dict[str, str]:
        env: dict[str, str] = {}
        for key, alloc in spec.allocations.items():
            env.update(await self.plugins[key].generate_environ(alloc))
        return env

    async def attached_devices(self, spec: KernelResourceSpec) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, alloc in spec.allocations.items():
            if key in ("cpu", "mem"):
                continue
            out[key] = await self.plugins[key].get_attached_devices(alloc)
        return out

    async def compute_plugin_info(self) -> dict[str, dict[str, Any]]:
        return {
            key: {"version": p.get_version(), "extra_info": await p.extra_info(), "metadata": p.get_metadata()}
            for key, p in self.plugins.items()
        }

    async def hwinfo(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, p in self.plugins.items():
            try:
                out[key] = await p.get_node_hwinfo()
            except Exception as e:
                out[key] = {"status": "error", "status_info": str(e), "metadata": {}}
        return out

    async def cleanup(self) -> None:
        for p in self.plugins.values():
            try:
                await p.cleanup()
            except Exception:
                log.exception("compute plugin %s cleanup failed", p.key)


def _deep_merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, Mapping) and isinstance(target.get(k), dict):
            _deep_merge(target[k], v)
        elif isinstance(v, list) and isinstance(target.get(k), list):
            target[k] = [*target[k], *v]
        else:
            target[k] = v


async def load_accelerator_plugins(
    modules: Iterable[str],
    *,
    plugin_config: Mapping[str, Any],
    local_config: Mapping[str, Any],
    blocked: Iterable[str] = (),
) -> dict[str, AbstractComputePlugin]:
    """Import and initialize the allowed plugin modules; a plugin that fails is skipped, logged."""
    plugins: dict[str, AbstractComputePlugin] = {}
    blocked_set = set(blocked)
    for name in modules:
        if name in blocked_set:
            continue
        try:
            module = importlib.import_module(name)
            cls = module.compute_plugin_class
            plugin: AbstractComputePlugin = cls(plugin_config, local_config)
            await plugin.init()
        except Exception as e:
            log.warning("compute plugin %s is not available: %s", name, e)
            continue
        if plugin.key in plugins or plugin.key in ("cpu", "mem"):
            log.warning("compute plugin %s: device key %r is taken; skipped", name, plugin.key)
            continue
        plugins[plugin.key] = plugin
        log.info("compute plugin %s loaded (device key %r, slots %s)", name, plugin.key,
                 ", ".join(s for s, _ in plugin.slot_types()))
    return plugins
