"""The Docker backend: kernels are containers on the local dockerd (through aiodocker)."""
