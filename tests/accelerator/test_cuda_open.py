"""The cuda_open plugin against a faked NVML layer (no GPU exists on these machines)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from ai.backend.accelerator.cuda_open import nvml
from ai.backend.accelerator.cuda_open.plugin import CUDAPlugin
from ai.backend.agent.alloc_map import InsufficientResource
from ai.backend.agent.intrinsic import CPUPlugin, MemoryPlugin
from ai.backend.agent.resources import ResourceManager, load_accelerator_plugins

GPUS: list[dict[str, Any]] = [
    {"name": b"NVIDIA A100-SXM4-40GB", "uuid": "GPU-aaaa", "bus": "00000000:3B:00.0", "mem": 40 * 2**30, "numa": "0"},
    {"name": "NVIDIA A100-SXM4-40GB", "uuid": b"GPU-bbbb", "bus": b"00000000:AF:00.0", "mem": 40 * 2**30, "numa": "1"},
]


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    state: dict[str, Any] = {"init": 0, "shutdown": 0, "util": [10, 90], "used": [2**30, 3 * 2**30]}
    for g in GPUS:
        bus = nvml.normalize_bus_id(g["bus"].decode() if isinstance(g["bus"], bytes) else g["bus"])
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "numa_node").write_text(g["numa"] + "\n")
    monkeypatch.setattr(nvml, "PCI_ROOT", tmp_path)

    def init() -> None:
        state["init"] += 1

    def shutdown() -> None:
        state["shutdown"] += 1

    fakes = {
        "nvmlInit": init,
        "nvmlShutdown": shutdown,
        "nvmlSystemGetDriverVersion": lambda: "535.104.05",
        "nvmlSystemGetCudaDriverVersion": lambda: 12020,
        "nvmlDeviceGetCount": lambda: len(GPUS),
        "nvmlDeviceGetHandleByIndex": lambda i: i,
        "nvmlDeviceGetName": lambda h: GPUS[h]["name"],
        "nvmlDeviceGetUUID": lambda h: GPUS[h]["uuid"],
        "nvmlDeviceGetPciInfo": lambda h: SimpleNamespace(busId=GPUS[h]["bus"]),
        "nvmlDeviceGetMemoryInfo": lambda h: SimpleNamespace(total=GPUS[h]["mem"], used=state["used"][h]),
        "nvmlDeviceGetNumGpuCores": lambda h: 6912,
        "nvmlDeviceGetUtilizationRates": lambda h: SimpleNamespace(gpu=state["util"][h], memory=0),
    }
    for name, fn in fakes.items():
        monkeypatch.setattr(pynvml, name, fn)
    return state


async def test_devices_memory_numa_and_uuids(fake_nvml: dict) -> None:
    p = CUDAPlugin({}, {})
    await p.init()
    devices = await p.list_devices()
    assert [(d.device_id, d.uuid, d.numa_node, d.hw_location) for d in devices] == [
        ("0", "GPU-aaaa", 0, "0000:3b:00.0"),
        ("1", "GPU-bbbb", 1, "0000:af:00.0"),
    ]
    assert devices[0].model_name == "NVIDIA A100-SXM4-40GB" and devices[0].memory_size == 40 * 2**30
    assert devices[0].processing_units == 6912
    assert p.slot_types() == [("cuda.device", "count")]
    assert await p.available_slots() == {"cuda.device": Decimal(2)}
    assert await p.extra_info() == {"cuda_support": True, "nvidia_driver_version": "535.104.05", "cuda_version": "12.2"}
    await p.cleanup()
    assert fake_nvml["init"] == 1 and fake_nvml["shutdown"] == 1


async def test_allocation_becomes_a_docker_device_request(fake_nvml: dict) -> None:
    p = CUDAPlugin({}, {})
    await p.init()
    amap = await p.create_alloc_map()
    alloc = amap.allocate({"cuda.device": 1})
    args = await p.generate_docker_args(alloc)
    assert args == {"HostConfig": {"DeviceRequests": [
        {"Driver": "nvidia", "DeviceIDs": ["GPU-aaaa"], "Capabilities": [["gpu"]]},
    ]}}
    assert await p.generate_environ(alloc) == {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
    second = amap.allocate({"cuda.device": 1})
    assert (await p.generate_docker_args(second))["HostConfig"]["DeviceRequests"][0]["DeviceIDs"] == ["GPU-bbbb"]
    with pytest.raises(InsufficientResource):
        amap.allocate({"cuda.device": 1})
    assert await p.generate_docker_args({}) == {}


async def test_cpu_cores_follow_the_gpus_numa_node(fake_nvml: dict) -> None:
    cuda = CUDAPlugin({}, {})
    await cuda.init()
    cpu = CPUPlugin({}, {}, cores=range(8), numa_nodes={c: c // 4 for c in range(8)})
    mem = MemoryPlugin({}, {}, total=64 * 2**30)
    rm = await ResourceManager.create({"cpu": cpu, "mem": mem, "cuda": cuda})
    rm.allocate({"cuda.device": 1, "cpu": 1})            # GPU 0 (node 0), core 0
    spec = rm.allocate({"cuda.device": 1, "cpu": 2, "mem": 2**30})   # GPU 1 sits on node 1
    assert spec.device_ids("cuda") == ["1"]
    assert sorted(spec.device_ids("cpu")) == ["4", "5"]
    args = await rm.docker_args(spec)
    assert args["HostConfig"]["CpusetCpus"] == "4,5"
    assert args["HostConfig"]["Memory"] == 2**30
    assert args["HostConfig"]["DeviceRequests"][0]["DeviceIDs"] == ["GPU-bbbb"]
    attached = await rm.attached_devices(spec)
    assert attached["cuda"][0]["device_id"] == "1" and attached["cuda"][0]["model_name"].startswith("NVIDIA")


async def test_live_measures_come_from_nvml(fake_nvml: dict) -> None:
    p = CUDAPlugin({}, {})
    await p.init()
    m = await p.gather_node_measures()
    assert m == {"cuda_util": {"0": Decimal(10), "1": Decimal(90)},
                 "cuda_mem": {"0": Decimal(2**30), "1": Decimal(3 * 2**30)}}


async def test_without_a_driver_the_plugin_is_skipped_with_a_reason(caplog: pytest.LogCaptureFixture) -> None:
    # the real pynvml on a machine without the NVIDIA driver
    p = CUDAPlugin({}, {})
    with pytest.raises(nvml.NVMLUnavailable, match="NVML is not available"):
        await p.init()
    plugins = await load_accelerator_plugins(["ai.backend.accelerator.cuda_open"], plugin_config={}, local_config={})
    assert plugins == {}
    assert "compute plugin ai.backend.accelerator.cuda_open is not available" in caplog.text
