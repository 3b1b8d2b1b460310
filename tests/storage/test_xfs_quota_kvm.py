"""The xfs backend's hard limit, enforced by a real kernel with XFS project quotas.

The host kernel here lacks CONFIG_XFS_QUOTA, so the test boots Debian's stock kernel in a qemu
guest (scripts/xfs-quota-vm.sh; KVM when it can boot the guest, TCG otherwise). The guest sees
the host's / read-only over 9p, so it runs this very interpreter and source tree. The test
creates a sparse disk image, the guest makes an XFS file system on it, mounts it with prjquota,
and runs storage/xfs_quota_guest.py, which drives our XfsVolume and records what the kernel did
as JSON in the job directory (shared read-write). The assertions are all here, on the host.

Needs `scripts/xfs-quota-vm.sh prepare` (scripts/prepare.sh runs it; scripts/test.sh exports
BACKEND_TEST_XFS_VM). Without the guest or qemu the test fails and says so.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from . import xfs_quota_guest as guest

MiB = 2**20
DISK_BYTES = 320 * MiB  # mkfs.xfs' minimum is 300 MiB; the image is sparse


def vm_launcher() -> Path:
    vm_dir = Path(os.environ.get("BACKEND_TEST_XFS_VM") or Path.home() / ".cache/backend.ai/xfs-vm")
    launcher = vm_dir / "xfs-quota-vm.sh"
    assert launcher.is_file() and (vm_dir / "vmlinuz").is_file() and (vm_dir / "initrd.gz").is_file(), (
        f"the XFS-quota guest is not prepared in {vm_dir}: run scripts/xfs-quota-vm.sh prepare "
        "(scripts/prepare.sh does; scripts/test.sh exports BACKEND_TEST_XFS_VM)"
    )
    return launcher


def job_script(job: Path) -> str:
    """What the guest runs (as root, chrooted into the host's /, in the job directory)."""
    pythonpath = os.pathsep.join(p for p in sys.path if p and os.path.exists(p))
    mnt, result = job / "mnt", job / "result.json"
    return "\n".join([
        "#!/bin/sh",
        "set -e",
        "mkfs.xfs -q -f /dev/vda",
        f"mount -o prjquota /dev/vda {shlex.quote(str(mnt))}",
        f"rc=0; PYTHONPATH={shlex.quote(pythonpath)} {shlex.quote(sys.executable)} -m {guest.__name__} "
        f"{shlex.quote(str(mnt))} {shlex.quote(str(result))} || rc=$?",
        f"umount {shlex.quote(str(mnt))}",
        "exit $rc",
        "",
    ])


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Boot the guest once for the module and return the guest program's observations."""
    launcher = vm_launcher()
    job = tmp_path_factory.mktemp("xfs-vm-job")
    (job / "mnt").mkdir()
    disk = job / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(DISK_BYTES)
    run = job / "run"
    run.write_text(job_script(job))
    run.chmod(0o755)
    env = {**os.environ, "XFSVM_TIMEOUT": "360", "XFSVM_CACHE": str(launcher.parent)}
    proc = subprocess.run([str(launcher), "run", str(job), str(disk)], capture_output=True,
                          text=True, timeout=420, env=env)
    disk.unlink()  # 320 MiB apparent size; keep only the small job files for inspection
    console = proc.stdout[-4000:] + proc.stderr[-2000:]
    print(console)
    assert proc.returncode == 0, f"the guest run failed (exit {proc.returncode}):\n{console}"
    result = job / "result.json"
    assert result.is_file(), f"the guest program wrote no result:\n{console}"
    return dict(json.loads(result.read_text()))


def test_guest_mounts_xfs_with_project_quota(observed: dict[str, Any]) -> None:
    # XfsVolume.init() succeeded in the guest: it checks accounting+enforcement via xfs_quota
    assert observed["mount"] == {"fstype": "xfs", "prjquota": True}
    assert observed["kernel"] != os.uname().release  # really another kernel than the host's


def test_kernel_refuses_writes_past_the_hard_limit(observed: dict[str, Any]) -> None:
    w = observed["limited_write"]
    # plain os.write() failed in the kernel: project quotas report ENOSPC (EDQUOT on some kernels)
    assert w["errno"] in (errno.ENOSPC, errno.EDQUOT), w
    assert guest.LIMIT - 2 * MiB <= w["written"] <= guest.LIMIT, w
    assert w["size"] == w["written"]
    # ... while the file system itself had lots of room: the quota stopped it, not a full disk
    assert observed["fs_free_bytes"] > 20 * guest.LIMIT


def test_usage_reported_by_our_model_matches_the_disk(observed: dict[str, Any]) -> None:
    at_limit = observed["usage_at_limit"]
    assert at_limit["limit"] == guest.LIMIT
    assert at_limit["used"] == observed["on_disk_at_limit"]
    assert observed["limited_write"]["written"] <= at_limit["used"] <= guest.LIMIT
    # the proxy's own pre-check agrees: nothing more fits
    assert observed["precheck_at_limit"] == "QuotaExceeded"


def test_raising_the_limit_lets_the_write_succeed(observed: dict[str, Any]) -> None:
    w = observed["raised_write"]
    assert w == {"written": guest.WRITE_ATTEMPT, "errno": None, "size": guest.WRITE_ATTEMPT}
    after = observed["usage_after_raise"]
    assert after["limit"] == guest.RAISED_LIMIT
    assert after["used"] == observed["on_disk_after_raise"]
    assert after["used"] >= observed["limited_write"]["written"] + guest.WRITE_ATTEMPT


def test_upload_temp_files_are_held_to_the_same_limit(observed: dict[str, Any]) -> None:
    w = observed["upload_part_write"]
    room = guest.RAISED_LIMIT - observed["usage_after_raise"]["used"]
    assert w["errno"] in (errno.ENOSPC, errno.EDQUOT), w
    assert room - 2 * MiB <= w["written"] <= room, (w, room)
    assert observed["usage_after_upload"]["used"] <= guest.RAISED_LIMIT


def test_a_scope_without_limit_is_not_limited(observed: dict[str, Any]) -> None:
    # the control: the same 16 MiB write that hit the 8 MiB limit goes through without one
    assert observed["unlimited_write"] == {"written": guest.WRITE_ATTEMPT, "errno": None,
                                           "size": guest.WRITE_ATTEMPT}
    assert observed["usage_unlimited"]["limit"] is None
    assert observed["usage_unlimited"]["used"] >= guest.WRITE_ATTEMPT


def test_deleting_the_scope_clears_it(observed: dict[str, Any]) -> None:
    deleted = observed["deleted"]
    assert deleted["scope_dir_exists"] is False
    assert deleted["registry"] is None
    assert deleted["describe"] == "QuotaScopeNotFound"
    # the kernel holds no usage and no limit for the project id any more
    assert deleted["kernel_record"] in (None, {"used": 0, "hard": 0})
