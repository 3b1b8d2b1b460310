"""The program test_xfs_quota_kvm.py runs inside the XFS-quota guest (scripts/xfs-quota-vm.sh).

It drives our XfsVolume / XfsProjectQuotaModel on a fresh XFS mounted with prjquota and writes
what happened (bytes written, errno from the kernel, usage our model reports, on-disk blocks) to
a JSON file. It asserts nothing itself: the host test judges the observations, so a wrong
behaviour (say, no limit applied) shows up there as a failed assertion with the numbers.

    python -m storage.xfs_quota_guest MOUNT_POINT RESULT_JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import uuid
from pathlib import Path
from typing import Any

from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID
from ai.backend.storage.errors import QuotaExceeded, QuotaScopeNotFound
from ai.backend.storage.volumes.xfs import (
    XfsProjectQuotaModel,
    XfsVolume,
    cmd_report,
    find_mount,
    parse_report,
)

MiB = 2**20
LIMIT = 8 * MiB
RAISED_LIMIT = 64 * MiB
WRITE_ATTEMPT = 16 * MiB


def write_until_error(path: Path, total: int, chunk: int = MiB) -> dict[str, Any]:
    """Write `total` bytes in chunks with plain os.write (no code of ours in the way) and report
    how far it got and the errno the kernel returned, if any."""
    written, err = 0, None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        block = b"\xa5" * chunk
        while written < total:
            try:
                n = os.write(fd, block[: min(chunk, total - written)])
            except OSError as e:
                err = e.errno
                break
            written += n
        try:
            os.fsync(fd)
        except OSError as e:
            err = err or e.errno
    finally:
        os.close(fd)
    return {"written": written, "errno": err, "size": path.stat().st_size}


def on_disk_bytes(root: Path) -> int:
    """Blocks allocated to everything under `root` (what the kernel charges to the project)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            total += os.lstat(Path(dirpath) / name).st_blocks * 512
    return total


async def usage(qm: XfsProjectQuotaModel, qsid: QuotaScopeID) -> dict[str, Any]:
    u = await qm.describe_quota_scope(qsid)
    return {"used": u.used_bytes, "limit": u.limit_bytes}


async def scenario(mount: Path) -> dict[str, Any]:
    obs: dict[str, Any] = {"kernel": platform.release()}
    mi = find_mount(mount)
    obs["mount"] = {"fstype": mi.fstype, "prjquota": bool(mi.options & {"prjquota", "pquota"})}
    vol = XfsVolume("xfs", mount / "vfroot", {})
    (mount / "vfroot").mkdir()
    await vol.init()  # refuses unless the kernel reports project quota accounting + enforcement
    qm = vol.quota_model
    assert isinstance(qm, XfsProjectQuotaModel)

    limited = QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())
    await qm.create_quota_scope(limited, LIMIT)
    vfid = VFolderID(limited, uuid.uuid4())
    await vol.create_vfolder(vfid)
    vfpath = vol.mangle_vfpath(vfid)
    obs["limited_write"] = write_until_error(vfpath / "big.bin", WRITE_ATTEMPT)
    obs["fs_free_bytes"] = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    obs["usage_at_limit"] = await usage(qm, limited)
    obs["on_disk_at_limit"] = on_disk_bytes(vol.quota_scope_path(limited))
    try:
        await qm.ensure_space(limited, MiB)
        obs["precheck_at_limit"] = "fits"
    except QuotaExceeded:
        obs["precheck_at_limit"] = "QuotaExceeded"

    await qm.update_quota_scope(limited, RAISED_LIMIT)
    # into a directory made after the scope was set up: it inherits the project id too
    await vol.fsops.mkdir(vfid, "nested/deeper", parents=True, exist_ok=False)
    obs["raised_write"] = write_until_error(vfpath / "nested/deeper/more.bin", WRITE_ATTEMPT)
    obs["usage_after_raise"] = await usage(qm, limited)
    obs["on_disk_after_raise"] = on_disk_bytes(vol.quota_scope_path(limited))
    # tus temp files live in the scope's upload directory: the same kernel limit stops them
    vol.upload_dir(limited).mkdir(exist_ok=True)
    obs["upload_part_write"] = write_until_error(vol.upload_dir(limited) / "session.part", RAISED_LIMIT)
    obs["usage_after_upload"] = await usage(qm, limited)
    (vol.upload_dir(limited) / "session.part").unlink()

    unlimited = QuotaScopeID(QuotaScopeType.PROJECT, uuid.uuid4())
    await qm.create_quota_scope(unlimited, None)
    free_vfid = VFolderID(unlimited, uuid.uuid4())
    await vol.create_vfolder(free_vfid)
    obs["unlimited_write"] = write_until_error(vol.mangle_vfpath(free_vfid) / "big.bin", WRITE_ATTEMPT)
    obs["usage_unlimited"] = await usage(qm, unlimited)

    pid = qm.registry.get(limited)
    scope_dir = vol.quota_scope_path(limited)
    await vol.delete_vfolder(vfid)
    await vol.wait_cleanups()
    await qm.delete_quota_scope(limited)
    obs["deleted"] = {"scope_dir_exists": scope_dir.exists(), "registry": qm.registry.get(limited)}
    # what the kernel now holds for the deleted scope's project id (no record = nothing)
    record = parse_report(await vol.runner.run(cmd_report(pid), vol.mount_point)).get(pid) if pid else None
    obs["deleted"]["kernel_record"] = None if record is None else {"used": record.used_bytes,
                                                                   "hard": record.hard_bytes}
    try:
        await qm.describe_quota_scope(limited)
        obs["deleted"]["describe"] = "found"
    except QuotaScopeNotFound:
        obs["deleted"]["describe"] = "QuotaScopeNotFound"
    await vol.shutdown()
    return obs


def main() -> None:
    mount, result = Path(sys.argv[1]), Path(sys.argv[2])
    obs = asyncio.run(scenario(mount))
    result.write_text(json.dumps(obs, indent=1))
    print(json.dumps(obs))


if __name__ == "__main__":
    main()
