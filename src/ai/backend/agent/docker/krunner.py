"""The krunner runtime: a self-contained CPython with pyzmq, mounted at /opt/backend.ai.

It comes from the PyPI package backend.ai-krunner-static-gnu. The agent unpacks it once into
a versioned directory (~/.cache/backend.ai/krunner/static-gnu-VERSION-ARCH by default),
downloading the wheel with pip if it is not cached, under a file lock so several agents on
one host never unpack concurrently.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from filelock import FileLock

log = logging.getLogger(__name__)

PACKAGE = "backend.ai-krunner-static-gnu"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class KrunnerUnavailable(RuntimeError):
    pass


def cache_root() -> Path:
    return Path(os.environ.get("BACKEND_CACHE_DIR") or Path.home() / ".cache" / "backend.ai")


def default_krunner_dir(version: str, arch: str | None = None) -> Path:
    return cache_root() / "krunner" / f"static-gnu-{version}-{arch or platform.machine()}"


def is_runtime(path: Path) -> bool:
    return (path / "bin" / "python3").exists()


def site_packages(runtime: Path) -> Path:
    """lib/python3.X/site-packages inside the runtime (where our kernel package is mounted)."""
    found = sorted(runtime.glob("lib/python3.*/site-packages"))
    if not found:
        raise KrunnerUnavailable(f"{runtime} has no lib/python3.*/site-packages")
    return found[-1]


def find_wheel(wheel_dir: Path, version: str) -> Path | None:
    found = sorted(wheel_dir.glob(f"backend_ai_krunner_static_gnu-{version}-*.whl"))
    return found[0] if found else None


def download_wheel(version: str, wheel_dir: Path) -> Path:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--index-url", "https://pypi.org/simple/", "-d", str(wheel_dir), f"{PACKAGE}=={version}"]
    if CA_BUNDLE.exists():
        cmd[4:4] = ["--cert", str(CA_BUNDLE)]
    log.info("downloading %s==%s", PACKAGE, version)
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PIP_CONFIG_FILE": "/dev/null"})
    whl = find_wheel(wheel_dir, version)
    if proc.returncode != 0 or whl is None:
        raise KrunnerUnavailable(f"cannot download {PACKAGE}=={version}: {proc.stderr.strip()[-500:]}")
    return whl


def extract_wheel(whl: Path, dest: Path, arch: str | None = None) -> None:
    """Unpack the runtime tarball from the wheel into `dest` (atomically: temp dir, rename)."""
    arch = arch or platform.machine()
    member = f"ai/backend/krunner/static_gnu/krunner-env.static-gnu.{arch}.tar.xz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        with zipfile.ZipFile(whl) as z:
            if member not in z.namelist():
                raise KrunnerUnavailable(f"{whl.name} has no runtime for {arch}")
            with z.open(member) as f, tarfile.open(fileobj=io.BytesIO(f.read()), mode="r:xz") as tar:
                tar.extractall(tmp / "env", filter="tar")
        root = tmp / "env"
        if not is_runtime(root):
            candidates = [p.parent.parent for p in root.glob("*/bin/python3")]
            if not candidates:
                raise KrunnerUnavailable(f"{whl.name}: no bin/python3 in the runtime tarball")
            root = candidates[0]
        if dest.exists():
            shutil.rmtree(dest)
        root.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_krunner_sync(path: Path | None, version: str) -> Path:
    target = Path(path) if path is not None else default_krunner_dir(version)
    if is_runtime(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / ".krunner.lock")):
        if is_runtime(target):
            return target
        wheel_dir = cache_root() / "krunner" / "wheels"
        whl = find_wheel(wheel_dir, version) or download_wheel(version, wheel_dir)
        log.info("unpacking the krunner runtime from %s into %s", whl.name, target)
        extract_wheel(whl, target)
    if not is_runtime(target):
        raise KrunnerUnavailable(f"unpacking the krunner runtime into {target} failed")
    return target


async def ensure_krunner(path: Path | None, version: str) -> Path:
    return await asyncio.to_thread(ensure_krunner_sync, path, version)
