"""The config samples, config validation and `backend.ai storage start-server` as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ai.backend.common.config import ConfigError
from ai.backend.common.storage_proxy_client import StorageProxyManagerClient
from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID
from ai.backend.storage import config as cfgmod

from .conftest import write_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["sample.toml", "halfstack.toml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = cfgmod.load(REPO / "configs" / "storage-proxy" / name)
    assert config["volume"]["local"]["backend"] == "vfs"
    assert config["volume"]["local"]["path"].is_absolute()
    assert config["storage-proxy"]["session-expire"] == timedelta(days=1)


def test_halfstack_config() -> None:
    config = cfgmod.load(REPO / "configs" / "storage-proxy" / "halfstack.toml")
    assert config["api"]["client"]["service-addr"] == ("0.0.0.0", 6021)
    assert config["api"]["manager"]["service-addr"] == ("127.0.0.1", 6022)
    assert config["etcd"]["addr"] == ("127.0.0.1", 8120) and config["etcd"]["namespace"] == "local"
    assert config["volume"]["local"]["path"] == Path.cwd() / ".tmp" / "vfroot" / "local"
    assert cfgmod.announce_url(config["api"]["client"]) == "http://127.0.0.1:6021"
    assert cfgmod.announce_url(config["api"]["manager"]) == "http://127.0.0.1:6022"
    assert config["storage-proxy"]["proxy-name"] == "local"


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    base = (REPO / "configs" / "storage-proxy" / "halfstack.toml").read_text()
    cases = {
        'session-expire = "1d"': ('session-expire = "soon"', "storage-proxy.session-expire"),
        'backend = "vfs"': ('backend = "zfs"', "volume.local.backend"),
        'secret = "halfstack-storage-proxy-manager-secret"': ("", "api.manager.secret"),
        "port = 6021": ("port = 70000", "api.client.service-addr"),
    }
    for original, (replacement, key) in cases.items():
        path = tmp_path / "storage-proxy.toml"
        path.write_text(base.replace(original, replacement))
        with pytest.raises(ConfigError) as exc:
            cfgmod.load(path)
        assert key in str(exc.value), (key, str(exc.value))


def test_durations() -> None:
    d = cfgmod.DurationTrafaret()
    assert d.check("1d") == timedelta(days=1)
    assert d.check("90m") == timedelta(minutes=90)
    assert d.check(3600) == timedelta(hours=1)
    assert d.check("2w") == timedelta(weeks=2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run_cli(config_path: Path, *, wait_port: int | None) -> tuple[asyncio.subprocess.Process, list[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ai.backend.cli", "storage", "start-server", "-f", str(config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )
    if wait_port is not None:
        for _ in range(200):
            if proc.returncode is not None:
                break
            try:
                _, w = await asyncio.open_connection("127.0.0.1", wait_port)
                w.close()
                return proc, []
            except OSError:
                await asyncio.sleep(0.1)
    out = (await proc.communicate())[0].decode()
    return proc, out.splitlines()


async def test_start_server_process(tmp_path: Path, etcd: Any, etcd_addr: Any, test_id: str) -> None:
    """The real command, on uvloop (as sample.toml recommends): register, upload, download, stop."""
    cport, mport = _free_port(), _free_port()
    path = write_config(tmp_path, etcd_addr, etcd.namespace, test_id, **{
        "port = 6021": f"port = {cport}", "port = 6022": f"port = {mport}",
        'session-expire = "1h"': 'session-expire = "1h"\nevent-loop = "uvloop"',
    })
    proc, out = await _run_cli(path, wait_port=mport)
    assert proc.returncode is None, "\n".join(out)
    try:
        for _ in range(50):  # registration happens right after binding
            if await etcd.get(f"volumes/proxies/sp-{test_id}/client_api"):
                break
            await asyncio.sleep(0.1)
        assert await etcd.get(f"volumes/proxies/sp-{test_id}/client_api") == f"http://127.0.0.1:{cport}"
        assert await etcd.get(f"volumes/proxies/sp-{test_id}/manager_api") == f"http://127.0.0.1:{mport}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{cport}/") as r:
                assert (await r.json())["type"] == "client-facing"
        client = StorageProxyManagerClient(f"http://127.0.0.1:{mport}", f"test-manager-secret-{test_id}",
                                           client_api=f"http://127.0.0.1:{cport}")
        try:
            vfid = VFolderID(QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())
            await client.create_folder("local", vfid)
            data = os.urandom(9 * 2**20 + 7)
            up = await client.issue_upload("local", vfid, "f.bin", len(data))
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                async with http.patch(up.url, params={"token": up.token}, data=data, headers={
                    "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream"}) as r:
                    assert r.status == 204
                dl = await client.issue_download("local", vfid, "f.bin")
                async with http.get(dl.url, params={"token": dl.token}) as r:
                    assert r.status == 200 and await r.read() == data
                async with http.get(dl.url, params={"token": dl.token}, headers={"Range": "bytes=100-"}) as r:
                    assert r.status == 206 and await r.read() == data[100:]
        finally:
            await client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 15)
    assert proc.returncode == 0


async def test_start_server_reports_bad_config_and_volumes(tmp_path: Path, etcd: Any, etcd_addr: Any,
                                                          test_id: str) -> None:
    path = write_config(tmp_path, etcd_addr, etcd.namespace, test_id, **{'session-expire = "1h"': 'session-expire = "x"'})
    proc, out = await _run_cli(path, wait_port=None)
    assert proc.returncode == 2
    assert any("storage-proxy.session-expire" in line for line in out), out

    path = write_config(tmp_path, etcd_addr, etcd.namespace, test_id, **{
        'backend = "vfs"\npath = "' + str(tmp_path / "vfroot") + '/second"': f'backend = "xfs"\npath = "{tmp_path}"',
        "port = 6021": f"port = {_free_port()}", "port = 6022": f"port = {_free_port()}",
    })
    assert 'backend = "xfs"' in path.read_text()
    proc, out = await _run_cli(path, wait_port=None)
    assert proc.returncode == 1
    assert any("volume 'second'" in line and "not XFS" in line for line in out), out


async def test_client_api_over_tls(tmp_path: Path, etcd: Any, etcd_addr: Any, test_id: str) -> None:
    """ssl-enabled: downloads (no sendfile under TLS) and uploads work over HTTPS."""
    import subprocess

    from ai.backend.common.types import HostPortPair
    from ai.backend.storage.server import StorageProxyServer

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    path = write_config(tmp_path, etcd_addr, etcd.namespace, test_id, **{
        "port = 6021 }": f'port = 6021 }}\nssl-enabled = true\nssl-cert = "{cert}"\nssl-privkey = "{key}"',
    })
    config = cfgmod.load(path)
    for side in ("client", "manager"):
        config["api"][side]["service-addr"] = HostPortPair("127.0.0.1", 0)
    server = StorageProxyServer(config)
    await server.start()
    assert server.client_url.startswith("https://127.0.0.1:")
    client = StorageProxyManagerClient(server.manager_url, config["api"]["manager"]["secret"],
                                       client_api=server.client_url)
    try:
        vfid = VFolderID(QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())
        await client.create_folder("local", vfid)
        data = os.urandom(3 * 2**20 + 5)
        up = await client.issue_upload("local", vfid, "t.bin", len(data))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.patch(up.url, params={"token": up.token}, data=data, ssl=False, headers={
                    "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream"}) as r:
                assert r.status == 204
            dl = await client.issue_download("local", vfid, "t.bin")
            async with http.get(dl.url, params={"token": dl.token}, ssl=False) as r:
                assert r.status == 200 and await r.read() == data
            async with http.get(dl.url, params={"token": dl.token}, ssl=False,
                                headers={"Range": "bytes=1000-"}) as r:
                assert r.status == 206 and await r.read() == data[1000:]
    finally:
        await client.close()
        await server.stop()
