"""The storage proxy: vfolder file I/O and quotas, so the manager never moves bulk bytes."""
