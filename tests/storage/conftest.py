"""Fixtures for storage proxy tests: volumes on temp dirs and real loopback XFS mounts."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# --- a running storage proxy (in-process, ephemeral ports, throwaway etcd namespace) --------

HALFSTACK_LIKE_TOML = """
[etcd]
namespace = "{namespace}"
addr = {{ host = "{etcd_host}", port = {etcd_port} }}

[storage-proxy]
node-id = "i-test-{test_id}"
proxy-name = "sp-{test_id}"
secret = "test-token-secret-{test_id}"
session-expire = "1h"
max-upload-size = "64m"
scandir-limit = 100

[api.client]
service-addr = {{ host = "127.0.0.1", port = 6021 }}

[api.manager]
service-addr = {{ host = "127.0.0.1", port = 6022 }}
secret = "test-manager-secret-{test_id}"
ssl-verify = false

[volume.local]
backend = "vfs"
path = "{vfroot}/local"

[volume.second]
backend = "vfs"
path = "{vfroot}/second"
"""


@dataclass
class RunningProxy:
    server: Any
    config: dict[str, Any]
    client: Any  # StorageProxyManagerClient
    name: str

    @property
    def client_url(self) -> str:
        return str(self.server.client_url)

    @property
    def manager_url(self) -> str:
        return str(self.server.manager_url)

    @property
    def manager_secret(self) -> str:
        return str(self.config["api"]["manager"]["secret"])

    def volume_path(self, name: str = "local") -> Path:
        return Path(self.config["volume"][name]["path"])


def write_config(tmp_path: Path, etcd_addr: Any, namespace: str, test_id: str, **overrides: str) -> Path:
    text = HALFSTACK_LIKE_TOML.format(namespace=namespace, etcd_host=etcd_addr.host, etcd_port=etcd_addr.port,
                                      test_id=test_id, vfroot=tmp_path / "vfroot")
    for old, new in overrides.items():
        text = text.replace(old, new)
    path = tmp_path / "storage-proxy.toml"
    path.write_text(text)
    return path


@pytest.fixture
async def proxy(tmp_path: Path, etcd: Any, etcd_addr: Any, test_id: str) -> AsyncIterator[RunningProxy]:
    from ai.backend.common.storage_proxy_client import StorageProxyManagerClient
    from ai.backend.common.types import HostPortPair
    from ai.backend.storage import config as cfgmod
    from ai.backend.storage.server import StorageProxyServer

    config = cfgmod.load(write_config(tmp_path, etcd_addr, etcd.namespace, test_id))
    for side in ("client", "manager"):
        config["api"][side]["service-addr"] = HostPortPair("127.0.0.1", 0)  # ephemeral ports
    server = StorageProxyServer(config)
    await server.start()
    client = StorageProxyManagerClient(server.manager_url, config["api"]["manager"]["secret"],
                                       client_api=server.client_url)
    try:
        yield RunningProxy(server, config, client, server.proxy_name)
    finally:
        await client.close()
        await server.stop()
