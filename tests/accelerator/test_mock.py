"""The mock accelerator plugin, configured from files as the manual describes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ai.backend.accelerator.mock.plugin import MockPlugin
from ai.backend.agent.alloc_map import (
    FractionAllocMap,
    InsufficientResource,
    InvalidResourceArgument,
)
from ai.backend.agent.intrinsic import CPUPlugin, MemoryPlugin
from ai.backend.agent.resources import ResourceManager, load_accelerator_plugins
from ai.backend.common.config import ConfigError

SAMPLES = Path("configs/accelerator")
FRACTIONAL = {"cuda": {"allocation_mode": "fractional", "unit_mem": 2**30, "unit_proc": 10}}


def local(path: Path) -> dict:
    return {"plugins": {"mock": {"config-file": str(path)}}}


async def make(path: Path, plugin_config: dict | None = None) -> MockPlugin:
    p = MockPlugin(plugin_config or {}, local(path))
    await p.init()
    return p


async def test_discrete_mode_from_the_sample_file() -> None:
    p = await make(SAMPLES / "mock-accelerator.toml")
    assert p.key == "cuda"
    assert p.slot_types() == [("cuda.device", "count")]
    assert await p.available_slots() == {"cuda.device": Decimal(2)}
    devices = await p.list_devices()
    assert [d.memory_size for d in devices] == [16 * 2**30, 16 * 2**30]
    amap = await p.create_alloc_map()
    alloc = amap.allocate({"cuda.device": 2})
    env = await p.generate_environ(alloc)
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env["BACKENDAI_MOCK_CUDA_DEVICES"].count(":device=1") == 2
    assert p.get_metadata()["cuda.device"]["display_unit"] == "GPU"
    with pytest.raises(InvalidResourceArgument):
        amap.allocate({"cuda.device": "0.5"})


async def test_fractional_mode_from_the_etcd_plugin_config() -> None:
    p = await make(SAMPLES / "mock-accelerator.toml", FRACTIONAL)
    assert p.slot_types() == [("cuda.shares", "count")]
    # 16 GiB / 1 GiB = 16 shares, 108 SMs / 10 = 10.8 shares: the smaller one counts
    assert await p.available_slots() == {"cuda.shares": Decimal("21.6")}
    amap = await p.create_alloc_map()
    assert isinstance(amap, FractionAllocMap)
    a = amap.allocate({"cuda.shares": "0.5"})
    b = amap.allocate({"cuda.shares": "12"})  # spans both devices
    assert sum(b["cuda.shares"].values()) == 12 and len(b["cuda.shares"]) == 2
    env = await p.generate_environ(a)
    assert env["BACKENDAI_MOCK_CUDA_DEVICES"].endswith(":shares=0.5")
    assert p.get_metadata()["cuda.shares"]["display_unit"] == "fGPU"
    with pytest.raises(InsufficientResource):
        amap.allocate({"cuda.shares": "9.2"})
    assert amap.allocate({"cuda.shares": "9.1"})


async def test_mig_devices_get_their_own_unique_slot() -> None:
    p = await make(SAMPLES / "mock-accelerator-mig.toml")
    assert dict(p.slot_types()) == {"cuda.device": "count", "cuda.10g-mig": "unique"}
    assert await p.available_slots() == {"cuda.device": Decimal(1), "cuda.10g-mig": Decimal(2)}
    assert p.get_metadata()["cuda.10g-mig"]["display_unit"] == "MIG(10GB)"


async def test_invalid_config_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "mock.toml"
    bad.write_text('slot_name = "cuda"\n[[devices]]\nmodel_name = "x"\nmemory_size = "lots"\n')
    with pytest.raises(ConfigError) as e:
        await make(bad)
    assert "devices.0.mother_uuid" in str(e.value) and "devices.0.memory_size" in str(e.value)
    with pytest.raises(ConfigError, match="config file not found"):
        await make(tmp_path / "missing.toml")


async def test_loaded_through_allow_compute_plugins_with_intrinsic_slots(tmp_path: Path) -> None:
    cfg = {**local(SAMPLES / "mock-accelerator.toml"), "resource": {"reserved-cpu": 0}}
    plugins = await load_accelerator_plugins(["ai.backend.accelerator.mock"], plugin_config={}, local_config=cfg)
    assert list(plugins) == ["cuda"]
    rm = await ResourceManager.create({
        "cpu": CPUPlugin({}, cfg, cores=[0, 1], numa_nodes={}),
        "mem": MemoryPlugin({}, cfg, total=2**32),
        **plugins,
    })
    assert rm.slot_types() == {"cpu": "count", "mem": "bytes", "cuda.device": "count"}
    assert rm.capacity() == {"cpu": 2, "mem": 2**32, "cuda.device": 2}
    spec = rm.allocate({"cpu": 1, "mem": 2**30, "cuda.device": 1})
    assert rm.occupied() == {"cpu": 1, "mem": 2**30, "cuda.device": 1}
    assert (await rm.environ(spec))["CUDA_VISIBLE_DEVICES"] == "0"
    info = await rm.compute_plugin_info()
    assert info["cuda"]["extra_info"]["mock"] is True
    with pytest.raises(InvalidResourceArgument, match="no 'tpu.device' resource slot"):
        rm.allocate({"tpu.device": 1})
    rm.release(spec)
    assert rm.occupied().is_zero()
