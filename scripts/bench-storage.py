#!/usr/bin/env python3
"""Storage proxy throughput on loopback next to a plain local file copy, measured in one run.

    ./py scripts/bench-storage.py [--size 1g] [--runs 3] [--chunk 16m] [--workdir .tmp/bench-storage]

Starts a real storage proxy (`backend.ai storage start-server`, vfs volume under the workdir,
ephemeral ports, a throwaway etcd namespace on the halfstack's etcd), then per run:
  copy      shutil.copyfile of the source file on the same disk (in-kernel copy: the baseline)
  copy-rw   the same copy with read()/write() of 4 MiB buffers (user space, as a receiver does)
  copy-sync shutil.copyfile + fsync (durable, as the proxy makes every completed upload)
  upload    tus PATCHes of --chunk bytes from offset 0, as the official client sends them
  download  one GET streamed into a local file
and prints the median MB/s (1 MB = 10^6 bytes) of each and the proxy/copy ratios. All three
see the same page cache state; absolute figures drift on shared machines, ratios less so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import aiohttp  # noqa: E402

from ai.backend.common.etcd import AsyncEtcd  # noqa: E402
from ai.backend.common.storage_proxy_client import StorageProxyManagerClient  # noqa: E402
from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID  # noqa: E402
from ai.backend.common.types import BinarySize, HostPortPair  # noqa: E402

CONFIG = """
[etcd]
namespace = "{namespace}"
addr = {{ host = "{etcd_host}", port = {etcd_port} }}
[storage-proxy]
node-id = "bench"
proxy-name = "bench"
secret = "bench-token-secret-{nonce}"
max-upload-size = "100g"
event-loop = "{event_loop}"
[api.client]
service-addr = {{ host = "127.0.0.1", port = {cport} }}
[api.manager]
service-addr = {{ host = "127.0.0.1", port = {mport} }}
secret = "bench-manager-secret-{nonce}"
[logging]
level = "WARNING"
pkg-ns = {{ "" = "WARNING", "ai.backend" = "WARNING" }}
[volume.bench]
backend = "vfs"
path = "{vfroot}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_source(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    block = os.urandom(4 * 2**20)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def copy_rw(src: Path, dst: Path) -> None:
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        while chunk := fin.read(4 * 2**20):
            fout.write(chunk)


async def upload(url: str, token: str, src: Path, chunk: int) -> None:
    size = src.stat().st_size
    async with aiohttp.ClientSession() as http:
        offset = 0
        with open(src, "rb") as f:
            while offset < size:
                f.seek(offset)
                body = f.read(chunk)
                headers = {"Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                           "Content-Type": "application/offset+octet-stream"}
                async with http.patch(url, params={"token": token}, data=body, headers=headers) as r:
                    if r.status != 204:
                        raise RuntimeError(f"upload failed: {r.status} {await r.text()}")
                    offset = int(r.headers["Upload-Offset"])


async def download(url: str, token: str, dst: Path) -> int:
    received = 0
    async with aiohttp.ClientSession() as http, http.get(url, params={"token": token}) as r:
        if r.status != 200:
            raise RuntimeError(f"download failed: {r.status} {await r.text()}")
        with open(dst, "wb") as f:
            async for chunk in r.content.iter_chunked(4 * 2**20):
                f.write(chunk)
                received += len(chunk)
    return received


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1g")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chunk", default="16m", help="tus PATCH size (the official client uses 16m)")
    ap.add_argument("--workdir", default=str(ROOT / ".tmp" / "bench-storage"))
    ap.add_argument("--event-loop", default="uvloop", choices=["uvloop", "asyncio"],
                    help="the proxy's [storage-proxy] event-loop")
    ap.add_argument("--etcd", default=os.environ.get("BACKEND_TEST_ETCD_ADDR", "127.0.0.1:8120"))
    args = ap.parse_args()
    size, chunk = int(BinarySize.from_str(args.size)), int(BinarySize.from_str(args.chunk))
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    src = work / "source.bin"
    make_source(src, size)
    nonce = uuid.uuid4().hex[:8]
    namespace = f"bench-storage-{nonce}"
    etcd_addr = HostPortPair.parse(args.etcd)
    cport, mport = free_port(), free_port()
    vfroot = work / f"vfroot-{nonce}"
    cfg = work / f"storage-proxy-{nonce}.toml"
    cfg.write_text(CONFIG.format(namespace=namespace, etcd_host=etcd_addr.host, etcd_port=etcd_addr.port,
                                 nonce=nonce, cport=cport, mport=mport, vfroot=vfroot,
                                 event_loop=args.event_loop))
    proc = subprocess.Popen([str(ROOT / "backend.ai"), "storage", "start-server", "-f", str(cfg)],
                            start_new_session=True)
    client = StorageProxyManagerClient(f"http://127.0.0.1:{mport}", f"bench-manager-secret-{nonce}",
                                       client_api=f"http://127.0.0.1:{cport}", timeout=600)
    results: dict[str, list[float]] = {"copy": [], "copy-rw": [], "copy-sync": [], "upload": [],
                                        "download": []}
    try:
        for _ in range(100):
            try:
                await client.status()
                break
            except Exception:
                if proc.poll() is not None:
                    raise SystemExit("the storage proxy did not start") from None
                await asyncio.sleep(0.1)
        vfid = VFolderID(QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())
        vfpath = Path(await client.create_folder("bench", vfid))
        print(f"file: {size / 2**20:.0f} MiB, runs: {args.runs}, tus chunk: {chunk / 2**20:.0f} MiB, "
              f"proxy: 127.0.0.1:{cport} ({args.event_loop})")
        for run in range(1, args.runs + 1):
            copy_dst = work / "copy.bin"
            t0 = time.perf_counter()
            shutil.copyfile(src, copy_dst)
            results["copy"].append(mbps(size, time.perf_counter() - t0))
            copy_dst.unlink()
            t0 = time.perf_counter()
            copy_rw(src, copy_dst)
            results["copy-rw"].append(mbps(size, time.perf_counter() - t0))
            copy_dst.unlink()
            t0 = time.perf_counter()
            shutil.copyfile(src, copy_dst)
            with open(copy_dst, "rb+") as f:
                os.fsync(f.fileno())
            results["copy-sync"].append(mbps(size, time.perf_counter() - t0))
            copy_dst.unlink()

            tok = await client.issue_upload("bench", vfid, f"up-{run}.bin", size)
            t0 = time.perf_counter()
            await upload(tok.url, tok.token, src, chunk)
            results["upload"].append(mbps(size, time.perf_counter() - t0))
            assert (vfpath / f"up-{run}.bin").stat().st_size == size

            dl = await client.issue_download("bench", vfid, f"up-{run}.bin")
            dst = work / "downloaded.bin"
            t0 = time.perf_counter()
            got = await download(dl.url, dl.token, dst)
            results["download"].append(mbps(size, time.perf_counter() - t0))
            assert got == size
            dst.unlink()
            await client.delete_files("bench", vfid, [f"up-{run}.bin"])
            print(f"run {run}: " + ", ".join(f"{k} {v[-1]:.0f} MB/s" for k, v in results.items()))
        med = {k: statistics.median(v) for k, v in results.items()}
        print("median: " + " | ".join(f"{k} {v:.0f} MB/s" for k, v in med.items()))
        for k in ("upload", "download"):
            print(f"proxy {k}: " + ", ".join(f"{med[k] / med[b]:.2f}x {b}" for b in ("copy", "copy-rw", "copy-sync")))
        await client.delete_folder("bench", vfid)
    finally:
        await client.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        etcd = AsyncEtcd(etcd_addr, namespace)
        await etcd.delete_prefix("")
        await etcd.close()
        shutil.rmtree(vfroot, ignore_errors=True)
        cfg.unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(main())
