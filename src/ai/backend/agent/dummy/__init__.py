"""The simulated agent backend: no Docker, configurable delays and failures."""
