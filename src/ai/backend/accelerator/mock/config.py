"""The mock accelerator's config file (mock-accelerator.toml), validated with readable errors.

Found at `[plugins.mock] config-file` in agent.toml, else as mock-accelerator.toml in the usual
search paths (current directory, ~/.config/backend.ai, /etc/backend.ai).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trafaret as t

from ai.backend.common.config import BinarySizeTrafaret, check, find_config_file, read_toml

_number_format = t.Dict({
    t.Key("binary", default=False): t.Bool,
    t.Key("round_length", default=0): t.ToInt[0:],
})

_format = t.Dict({
    t.Key("display_icon", default="gpu1"): t.String,
    t.Key("display_unit", default="GPU"): t.String,
    t.Key("human_readable_name", default="GPU"): t.String,
    t.Key("description", default=""): t.String(allow_blank=True),
    t.Key("number_format", default={"binary": False, "round_length": 0}): _number_format,
}).allow_extra("*")

_device = t.Dict({
    t.Key("mother_uuid"): t.String,
    t.Key("model_name", default="Mock Device"): t.String,
    t.Key("numa_node", default=0): t.ToInt[0:],
    t.Key("subproc_count", default=1): t.ToInt[1:],
    t.Key("memory_size", default="1g"): BinarySizeTrafaret(),
    t.Key("is_mig_device", default=False): t.Bool,
}).allow_extra("*")

mock_config_iv = t.Dict({
    t.Key("slot_name"): t.Regexp(r"^[a-z][a-z0-9_-]*$"),
    t.Key("device_plugin_name", default="MockDevice"): t.Enum("CUDADevice", "MockDevice"),
    t.Key("formats", default={}): t.Mapping(t.String, _format),
    t.Key("devices"): t.List(_device, min_length=1),
}).allow_extra("*")

fraction_config_iv = t.Dict({
    t.Key("allocation_mode", default="discrete"): t.Enum("discrete", "fractional"),
    t.Key("unit_mem", default=None): t.Null | t.ToInt[1:],
    t.Key("unit_proc", default=None): t.Null | t.ToInt[1:],
    t.Key("quantum_size", default="0.01"): t.String | t.ToFloat,
}).allow_extra("*")


def load_mock_config(local_config: Mapping[str, Any]) -> tuple[dict[str, Any], Path]:
    explicit = ((local_config.get("plugins") or {}).get("mock") or {}).get("config-file")
    path = find_config_file("mock-accelerator", explicit)
    raw = read_toml(path)
    for dev in raw.get("devices") or []:
        # the manual spells it "is_mig_devices" in one place; accept both
        if isinstance(dev, dict) and "is_mig_devices" in dev:
            dev.setdefault("is_mig_device", dev.pop("is_mig_devices"))
    return check(mock_config_iv, raw, path=path), path
