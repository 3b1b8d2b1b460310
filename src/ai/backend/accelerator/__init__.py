"""Accelerator compute plugins for the agent (cuda_open on NVML, mock for development)."""
