"""NVIDIA GPUs through NVML: one `cuda.device` slot unit per GPU (open-source plugin)."""

from .plugin import CUDAPlugin

compute_plugin_class = CUDAPlugin

__all__ = ["CUDAPlugin", "compute_plugin_class"]
