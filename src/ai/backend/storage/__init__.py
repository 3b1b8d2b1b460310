"""The storage proxy: vfolder file I/O and quotas, so the manager never moves bulk bytes."""

__version__ = "23.09.0"
