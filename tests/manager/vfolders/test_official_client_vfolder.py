"""The official client `backend.ai-client==23.9.10` (scripts/official-client.sh) driving vfolders
against our manager and storage proxy: list-hosts, create, list, upload (300 MB and zero bytes),
ls, download (byte-identical, and resumed with Range after a dropped connection), mkdir, rm,
delete; and an upload beyond the quota scope failing cleanly."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.manager.models import user_resource_policies
from manager.helpers import USER, parse_table
from manager.rows import USER_UUID

DEFAULT_CLI = Path.home() / ".cache" / "backend.ai" / "official-client-23.9.10" / "bin" / "backend.ai"
BIG = 300 * 1024 * 1024


@pytest.fixture
def official_cli() -> str:
    path = os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or str(DEFAULT_CLI)
    if not Path(path).is_file():
        pytest.fail(f"the official client is missing at {path}: run scripts/official-client.sh "
                    "(scripts/test.sh exports BACKEND_TEST_OFFICIAL_CLIENT)")
    return path


@pytest.fixture
def cli(official_cli: str, vf: Any, tmp_path: Path) -> Any:
    async def run(*args: str, cwd: Path | None = None, ok: bool = True, stdin: bytes = b"") -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "BACKEND_ENDPOINT": vf.manager.url + "/",
            "BACKEND_ENDPOINT_TYPE": "api", "BACKEND_ACCESS_KEY": USER[0], "BACKEND_SECRET_KEY": USER[1],
            "LANG": "C.UTF-8", "COLUMNS": "400",
        }
        proc = await asyncio.create_subprocess_exec(
            official_cli, *args, env=env, cwd=str(cwd or tmp_path), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=600)
        text = out.decode() + err.decode()
        if ok:
            assert proc.returncode == 0, f"backend.ai {' '.join(args)} failed:\n{text}"
            return out.decode()    # progress and status lines go to stderr
        assert proc.returncode != 0, f"backend.ai {' '.join(args)} should have failed:\n{text}"
        return text

    return run


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n


class FlakyProxy:
    """A TCP relay to the storage proxy's client API that cuts its first connection after
    `cut_after` response bytes, so the client has to resume the download. Keeps request heads."""

    def __init__(self, upstream_port: int, cut_after: int) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.requests: list[bytes] = []
        self.responses: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        cut = self.cut_after if self.connections == 1 else None
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def upstream() -> None:
            first = True
            while data := await reader.read(65536):
                if first:
                    self.requests.append(data)
                    first = False
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            sent = 0
            while data := await up_reader.read(1 << 20):
                if sent == 0:
                    self.responses.append(data[:64])
                if cut is not None and sent + len(data) > cut:
                    writer.write(data[:cut - sent])
                    await writer.drain()
                    return
                writer.write(data)
                await writer.drain()
                sent += len(data)

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        for w in (writer, up_writer):
            w.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def flaky(vf: Any) -> AsyncIterator[FlakyProxy]:
    port = int(vf.storage.client_url.rsplit(":", 1)[1])
    proxy = FlakyProxy(port, cut_after=100 * 1024 * 1024)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_vfolder_workflow_with_the_official_client(vf: Any, cli: Any, tmp_path: Path,
                                                          flaky: FlakyProxy) -> None:
    out = await cli("vfolder", "list-hosts")
    assert "Default vfolder host: local:volume1" in out and "Usable hosts: local:volume1" in out

    out = await cli("vfolder", "create", "mydata", "local:volume1")
    assert 'Virtual folder "mydata" is created.' in out
    [row] = parse_table(await cli("vfolder", "list"))
    assert row["Name"] == "mydata" and row["Host"] == "local:volume1" and row["Status"] == "ready"
    assert row["Permission"] == "rw" and row["Ownership Type"] == "user" and row["Creator"] == "user@lablup.com"

    src = tmp_path / "src"
    src.mkdir()
    _write_random(src / "big.bin", BIG)
    (src / "empty.bin").write_bytes(b"")
    await cli("vfolder", "upload", "mydata", "big.bin", "empty.bin", cwd=src)
    await cli("vfolder", "mkdir", "mydata", "sub/dir", "-p")

    out = await cli("vfolder", "ls", "mydata")
    rows = {r["file name"]: r for r in parse_table(out)}
    assert set(rows) == {"big.bin", "empty.bin", "sub"}
    assert rows["big.bin"]["size"] == str(BIG) and rows["empty.bin"]["size"] == "0"
    assert rows["big.bin"]["mode"] == "-rw-r--r--" and rows["sub"]["mode"].startswith("d")
    out = await cli("vfolder", "ls", "mydata", "sub")
    assert [r["file name"] for r in parse_table(out)] == ["dir"]

    dst = tmp_path / "dst"
    dst.mkdir()
    await cli("vfolder", "download", "mydata", "big.bin", "empty.bin", cwd=dst)
    assert _sha256(dst / "big.bin") == _sha256(src / "big.bin")
    assert (dst / "empty.bin").read_bytes() == b""

    # a download whose connection drops after 100 MB resumes with Range/If-Range (206)
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    override = f"{vf.storage.client_url}/download=http://127.0.0.1:{(await _port(flaky))}/download"
    await cli("vfolder", "download", "mydata", "big.bin", "--override-storage-proxy", override, cwd=resumed)
    assert flaky.connections >= 2
    assert b"range: bytes=" in flaky.requests[-1].lower() and b"if-range:" in flaky.requests[-1].lower()
    assert flaky.responses[0].startswith(b"HTTP/1.1 200") and flaky.responses[-1].startswith(b"HTTP/1.1 206")
    assert _sha256(resumed / "big.bin") == _sha256(src / "big.bin")

    await cli("vfolder", "rm", "mydata", "empty.bin", stdin=b"y\n")
    await cli("vfolder", "rm", "mydata", "sub", "-r", stdin=b"y\n")
    out = await cli("vfolder", "ls", "mydata")
    assert [r["file name"] for r in parse_table(out)] == ["big.bin"]

    await cli("vfolder", "delete", "mydata")
    # with nothing to list, the 23.9 client exits non-zero ("NoItems") against any server
    out = await cli("vfolder", "list", ok=False)
    assert "NoItems" in out and "mydata" not in out
    assert not any((vf.storage.volume_path() / USER_UUID.hex).glob("??/??/*"))


async def _port(flaky: FlakyProxy) -> int:
    assert flaky.server is not None
    return int(flaky.server.sockets[0].getsockname()[1])


async def test_upload_beyond_the_quota_fails_cleanly_in_the_official_client(vf: Any, cli: Any, tmp_path: Path) -> None:
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.update(user_resource_policies).where(user_resource_policies.c.name == "default")
                           .values(max_quota_scope_size=8 * 1024 * 1024))
    await cli("vfolder", "create", "small", "local:volume1")
    src = tmp_path / "src"
    src.mkdir()
    _write_random(src / "fits.bin", 4 * 1024 * 1024)
    _write_random(src / "toobig.bin", 12 * 1024 * 1024)
    await cli("vfolder", "upload", "small", "fits.bin", cwd=src)
    out = await cli("vfolder", "upload", "small", "toobig.bin", cwd=src, ok=False)
    assert "413" in out and "quota" in out.lower()
    out = await cli("vfolder", "ls", "small")
    assert [r["file name"] for r in parse_table(out)] == ["fits.bin"]
