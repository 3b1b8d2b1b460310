"""Simulated agent tests."""
