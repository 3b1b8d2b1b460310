"""Docker agent tests (real dockerd)."""
