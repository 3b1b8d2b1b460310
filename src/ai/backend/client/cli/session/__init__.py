"""Compute session commands: `run`, `start`, `rm`, `events` and the `session` group."""
