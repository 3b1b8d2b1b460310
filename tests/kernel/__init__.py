"""Kernel runner tests."""
