"""A real manager and a real storage proxy on the halfstack, wired through one etcd namespace.

The proxy registers itself as "local" with volumes "volume1" (the host the example fixtures
allow: "local:volume1") and "volume2" (allowed to nobody), on ephemeral ports, with its
volumes under the test's tmp_path. The manager finds it in etcd like in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.types import HostPortPair

STORAGE_TOML = """
[etcd]
namespace = "{namespace}"
addr = {{ host = "{etcd_host}", port = {etcd_port} }}

[storage-proxy]
node-id = "i-test-{test_id}"
proxy-name = "local"
secret = "vf-token-secret-{test_id}"
session-expire = "1h"
max-upload-size = "1g"
scandir-limit = 1000
default-volume = "volume1"

[api.client]
service-addr = {{ host = "127.0.0.1", port = 6021 }}

[api.manager]
service-addr = {{ host = "127.0.0.1", port = 6022 }}
secret = "vf-manager-secret-{test_id}"
ssl-verify = false

[volume.volume1]
backend = "vfs"
path = "{vfroot}/volume1"

[volume.volume2]
backend = "vfs"
path = "{vfroot}/volume2"
"""


@dataclass
class RunningStorage:
    server: Any             # ai.backend.storage.server.StorageProxyServer
    config: dict[str, Any]

    @property
    def client_url(self) -> str:
        return str(self.server.client_url)

    @property
    def token_secret(self) -> str:
        return str(self.config["storage-proxy"]["secret"])

    def volume_path(self, name: str = "volume1") -> Path:
        return Path(self.config["volume"][name]["path"])


@pytest.fixture
async def storage(tmp_path: Path, cluster_etcd: AsyncEtcd, etcd_addr: HostPortPair,
                  test_id: str) -> AsyncIterator[RunningStorage]:
    from ai.backend.storage import config as cfgmod
    from ai.backend.storage.server import StorageProxyServer

    path = tmp_path / "storage-proxy.toml"
    path.write_text(STORAGE_TOML.format(namespace=cluster_etcd.namespace, etcd_host=etcd_addr.host,
                                        etcd_port=etcd_addr.port, test_id=test_id, vfroot=tmp_path / "vfroot"))
    config = cfgmod.load(path)
    for side in ("client", "manager"):
        config["api"][side]["service-addr"] = HostPortPair("127.0.0.1", 0)   # ephemeral ports
    await cluster_etcd.put_dict({"volumes/_types/user": "", "volumes/_types/group": ""})
    server = StorageProxyServer(config)
    await server.start()
    try:
        yield RunningStorage(server, config)
    finally:
        await server.stop()


@dataclass
class VFStack:
    manager: Any            # RunningManager
    storage: RunningStorage


@pytest.fixture
async def vf(manager: Any, storage: RunningStorage) -> VFStack:
    return VFStack(manager, storage)
