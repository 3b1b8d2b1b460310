"""Agent tests."""
