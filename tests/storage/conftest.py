"""Fixtures for storage proxy tests: volumes on temp dirs and real loopback XFS mounts."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


@pytest.fixture
def xfs_mount(tmp_path: Path) -> Iterator[Path]:
    """A fresh loopback XFS file system mounted (without quota options) at a unique path.

    Needs root and xfsprogs (scripts/install-deps.sh). The loop device is attached with
    autoclear, so unmounting releases it; the test fails if anything is left behind.
    """
    image = tmp_path / f"xfs-{uuid.uuid4().hex[:8]}.img"
    mnt = tmp_path / f"mnt-{uuid.uuid4().hex[:8]}"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(320 * 1024 * 1024)
    r = _run("mkfs.xfs", "-q", str(image))
    assert r.returncode == 0, f"mkfs.xfs failed: {r.stderr}"
    r = _run("mount", "-o", "loop", str(image), str(mnt))
    assert r.returncode == 0, f"mounting the loopback XFS failed: {r.stderr}"
    try:
        yield mnt
    finally:
        r = _run("umount", str(mnt))
        if r.returncode != 0:
            _run("umount", "-l", str(mnt))
        leftover = _run("losetup", "-j", str(image)).stdout.strip()
        if leftover:
            dev = leftover.split(":", 1)[0]
            _run("losetup", "-d", dev)
        assert r.returncode == 0, f"umount failed: {r.stderr}"
        assert not leftover, f"loop device left attached: {leftover}"
