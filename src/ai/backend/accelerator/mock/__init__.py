"""Simulated accelerators declared in a config file (the manual's "Using Mocked Accelerators")."""

from .plugin import MockPlugin

compute_plugin_class = MockPlugin

__all__ = ["MockPlugin", "compute_plugin_class"]
