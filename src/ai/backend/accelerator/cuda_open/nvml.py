"""A thin, typed layer over pynvml: the only module that talks to the NVIDIA driver.

Everything is looked up on the pynvml module at call time, so tests can fake the NVML
functions (no GPU exists on the build machines) and exercise the real plugin code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pynvml

PCI_ROOT = Path("/sys/bus/pci/devices")


class NVMLUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class GPUInfo:
    index: int
    name: str
    uuid: str
    pci_bus_id: str          # sysfs form: "0000:3b:00.0"
    memory_total: int
    gpu_cores: int
    numa_node: int | None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def normalize_bus_id(bus_id: str) -> str:
    """NVML's "00000000:3B:00.0" -> sysfs "0000:3b:00.0"."""
    domain, _, rest = bus_id.partition(":")
    return f"{domain[-4:]}:{rest}".lower()


def numa_node_of(bus_id: str, pci_root: Path | None = None) -> int | None:
    try:
        node = int(((pci_root or PCI_ROOT) / bus_id / "numa_node").read_text().strip())
    except (OSError, ValueError):
        return None
    return node if node >= 0 else None


def init() -> None:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        raise NVMLUnavailable(f"NVML is not available (no NVIDIA driver?): {e}") from None


def shutdown() -> None:
    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pass


def driver_version() -> str:
    return _text(pynvml.nvmlSystemGetDriverVersion())


def cuda_version() -> str:
    v = int(pynvml.nvmlSystemGetCudaDriverVersion())
    return f"{v // 1000}.{(v % 1000) // 10}"


def list_gpus(pci_root: Path | None = None) -> list[GPUInfo]:
    gpus: list[GPUInfo] = []
    for idx in range(int(pynvml.nvmlDeviceGetCount())):
        h = pynvml.nvmlDeviceGetHandleByIndex(idx)
        bus_id = normalize_bus_id(_text(pynvml.nvmlDeviceGetPciInfo(h).busId))
        try:
            cores = int(pynvml.nvmlDeviceGetNumGpuCores(h))
        except pynvml.NVMLError:
            cores = 0
        gpus.append(GPUInfo(
            index=idx,
            name=_text(pynvml.nvmlDeviceGetName(h)),
            uuid=_text(pynvml.nvmlDeviceGetUUID(h)),
            pci_bus_id=bus_id,
            memory_total=int(pynvml.nvmlDeviceGetMemoryInfo(h).total),
            gpu_cores=cores,
            numa_node=numa_node_of(bus_id, pci_root),
        ))
    return gpus


def usage(index: int) -> tuple[int, int]:
    """(utilization percent, memory used bytes) of one GPU."""
    h = pynvml.nvmlDeviceGetHandleByIndex(index)
    return int(pynvml.nvmlDeviceGetUtilizationRates(h).gpu), int(pynvml.nvmlDeviceGetMemoryInfo(h).used)
