"""The xfs backend on real loopback XFS file systems.

This machine's kernel is built without CONFIG_XFS_QUOTA: an XFS mounts, project ids can be
set and are inherited (tested for real below, with the real xfs_quota), but `-o prjquota`
mounts fail, so `limit` and `report` cannot run here. Those two commands go through
QuotaSimulatingRunner, which answers in xfs_quota's exact output format (see xfsprogs
quota/report.c) with usage computed from the files that carry the project id. The kernel's
enforcement of the hard limit is tested for real in test_xfs_quota_kvm.py, inside a qemu guest
whose kernel has XFS quotas (scripts/xfs-quota-vm.sh); test_kernel_enforces_hard_limit below
does it on the host only where the host kernel can mount with prjquota.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID
from ai.backend.storage.errors import (
    BackendError,
    QuotaExceeded,
    QuotaScopeNotEmpty,
    QuotaScopeNotFound,
)
from ai.backend.storage.volumes.abc import VolumeInitError
from ai.backend.storage.volumes.xfs import (
    MountInfo,
    XfsQuotaRunner,
    XfsVolume,
    cmd_limit,
    cmd_project_clear,
    cmd_project_setup,
    cmd_report,
    find_mount,
    parse_report,
    parse_state,
)

FS_IOC_FSGETXATTR = 0x801C581F

# `xfs_quota -x -c 'report -p -b -n' /mnt/vfroot` as printed by xfsprogs (header + rows, KiB)
RECORDED_REPORT = """\
Project quota on /mnt/vfroot (/dev/loop3)
                               Blocks
Project ID       Used       Soft       Hard    Warn/Grace
---------- --------------------------------------------------
#0                  4          0          0     00 [--------]
#100000          1024          0      10240     00 [--------]
#100001       2097152    1048576    2097152     00  [6 days]

"""

RECORDED_STATE_ON = """\
Project quota state on /mnt/vfroot (/dev/loop3)
  Accounting: ON
  Enforcement: ON
  Inode: #131 (1 blocks, 1 extents)
Blocks grace time: [7 days]
Blocks max warnings: 5
Inodes grace time: [7 days]
Inodes max warnings: 5
Realtime Blocks grace time: [7 days]
"""

RECORDED_STATE_ACCOUNTING_ONLY = """\
User quota state on /mnt/vfroot (/dev/loop3)
  Accounting: ON
  Enforcement: ON
  Inode: #129 (1 blocks, 1 extents)
Project quota state on /mnt/vfroot (/dev/loop3)
  Accounting: ON
  Enforcement: OFF
  Inode: #131 (1 blocks, 1 extents)
Blocks grace time: [7 days]
"""

MOUNTINFO = """\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
88 27 7:3 / /mnt/vfroot rw,relatime shared:44 - xfs /dev/loop3 rw,attr2,inode64,logbufs=8,logbsize=32k,prjquota
89 27 7:4 / /mnt/vf\\040space rw,relatime - xfs /dev/loop4 rw,attr2,inode64,noquota
"""


def project_id_of(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28))
    finally:
        os.close(fd)
    return struct.unpack_from("<I", buf, 12)[0]


def test_commands() -> None:
    assert cmd_project_setup(Path("/mnt/v/ab cd"), 100001) == "project -s -p '/mnt/v/ab cd' 100001"
    assert cmd_project_clear(Path("/mnt/v/x"), 7) == "project -C -p /mnt/v/x 7"
    assert cmd_limit(100001, 10 * 2**30) == "limit -p bsoft=10737418240 bhard=10737418240 100001"
    assert cmd_limit(100001, None) == "limit -p bsoft=0 bhard=0 100001"
    assert cmd_report(100001) == "report -p -b -n -N -L 100001 -U 100001"


def test_parse_recorded_report() -> None:
    report = parse_report(RECORDED_REPORT)
    assert set(report) == {0, 100000, 100001}
    assert report[100000].used_bytes == 1024 * 1024
    assert report[100000].hard_bytes == 10 * 1024 * 1024
    assert report[100001].soft_bytes == 2**30 and report[100001].hard_bytes == 2 * 2**30
    assert parse_report("") == {}


def test_parse_recorded_state() -> None:
    assert parse_state(RECORDED_STATE_ON) == (True, True)
    assert parse_state(RECORDED_STATE_ACCOUNTING_ONLY) == (True, False)
    assert parse_state("") == (False, False)


def test_find_mount_from_recorded_mountinfo() -> None:
    m = find_mount(Path("/mnt/vfroot/local"), MOUNTINFO)
    assert (m.mount_point, m.fstype, m.source) == (Path("/mnt/vfroot"), "xfs", "/dev/loop3")
    assert "prjquota" in m.options
    assert find_mount(Path("/mnt/vf space/x"), MOUNTINFO).options >= {"noquota"}
    assert find_mount(Path("/srv"), MOUNTINFO).fstype == "ext4"


def test_find_mount_on_real_loopback(xfs_mount: Path) -> None:
    m = find_mount(xfs_mount / "sub")
    assert m.mount_point == xfs_mount
    assert m.fstype == "xfs"
    assert m.source.startswith("/dev/loop")


async def test_init_refuses_xfs_without_prjquota(xfs_mount: Path) -> None:
    vol = XfsVolume("xfs1", xfs_mount, {})
    with pytest.raises(VolumeInitError, match="mounted without project quotas.*-o prjquota"):
        await vol.init()
    # the real xfs_quota agrees: no project quota state on this mount
    assert parse_state(await XfsQuotaRunner().run("state -p", xfs_mount)) == (False, False)


async def test_init_refuses_other_file_systems(tmp_path: Path) -> None:
    with pytest.raises(VolumeInitError, match="not XFS"):
        await XfsVolume("xfs1", tmp_path, {}).init()
    with pytest.raises(VolumeInitError, match="does not exist"):
        await XfsVolume("xfs1", tmp_path / "missing", {}).init()


async def test_runner_reports_xfs_quota_failures(xfs_mount: Path) -> None:
    # `limit` needs kernel quota support: xfs_quota fails and the runner says why
    with pytest.raises(BackendError, match="xfs_quota"):
        await XfsQuotaRunner().run(cmd_limit(100000, 2**20), xfs_mount)
    with pytest.raises(BackendError, match="cannot setup path"):
        await XfsQuotaRunner().run(cmd_project_setup(xfs_mount / "missing", 100000), xfs_mount)


class QuotaSimulatingRunner(XfsQuotaRunner):
    """Real xfs_quota for `project` commands; `limit`, `report` and `state` answered as the
    kernel-backed xfs_quota would, with usage summed over files carrying the project id."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.limits: dict[int, int] = {}

    async def run(self, command: str, mount_point: Path) -> str:
        self.commands.append(command)
        words = command.split()
        if words[0] == "project":
            return await super().run(command, mount_point)
        if words[0] == "state":
            return RECORDED_STATE_ON
        if words[0] == "limit":
            self.limits[int(words[-1])] = int(words[2].split("=")[1])
            return ""
        if words[0] == "report":
            pid = int(words[words.index("-L") + 1])
            used_kib = 0
            for dirpath, dirnames, filenames in os.walk(mount_point):
                for name in dirnames + filenames:
                    p = Path(dirpath) / name
                    if not p.is_symlink() and project_id_of(p) == pid:
                        used_kib += os.lstat(p).st_blocks // 2
            hard_kib = self.limits.get(pid, 0) // 1024
            return f"#{pid:<10d} {used_kib:10d} {hard_kib:10d} {hard_kib:10d}     00 [--------]\n"
        raise AssertionError(f"unexpected xfs_quota command {command!r}")


class LoopbackXfsVolume(XfsVolume):
    """The real xfs backend on a mount without prjquota (this kernel cannot have one)."""

    async def verify_project_quota(self, mount: MountInfo) -> None:
        assert mount.fstype == "xfs"


@pytest.fixture
async def xfs_volume(xfs_mount: Path) -> AsyncIterator[LoopbackXfsVolume]:
    vol = LoopbackXfsVolume("xfs1", xfs_mount / "vfroot", {"project-id-base": 200000},
                            runner=QuotaSimulatingRunner())
    (xfs_mount / "vfroot").mkdir()
    await vol.init()
    yield vol
    await vol.shutdown()


async def test_project_quota_scopes_on_loopback_xfs(xfs_volume: LoopbackXfsVolume) -> None:
    runner = xfs_volume.runner
    assert isinstance(runner, QuotaSimulatingRunner)
    qm = xfs_volume.quota_model
    alice = QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())
    team = QuotaScopeID(QuotaScopeType.PROJECT, uuid.uuid4())
    await qm.create_quota_scope(alice, 8 * 2**20)
    await qm.ensure_quota_scope(team)
    alice_dir, team_dir = xfs_volume.quota_scope_path(alice), xfs_volume.quota_scope_path(team)
    # real project ids on the directories, allocated from the configured base
    assert project_id_of(alice_dir) == 200000
    assert project_id_of(team_dir) == 200001
    assert runner.commands[:2] == [cmd_project_setup(alice_dir, 200000), cmd_limit(200000, 8 * 2**20)]

    vfid = VFolderID(alice, uuid.uuid4())
    await xfs_volume.create_vfolder(vfid)
    data = xfs_volume.mangle_vfpath(vfid) / "data.bin"
    data.write_bytes(os.urandom(3 * 2**20))
    assert project_id_of(data) == 200000  # inherited by files created in vfolders
    usage = await qm.describe_quota_scope(alice)
    assert usage.limit_bytes == 8 * 2**20
    assert 3 * 2**20 <= usage.used_bytes < 4 * 2**20
    await qm.ensure_space(alice, 4 * 2**20)
    with pytest.raises(QuotaExceeded):
        await qm.ensure_space(alice, 6 * 2**20)

    await qm.update_quota_scope(alice, None)
    assert (await qm.describe_quota_scope(alice)).limit_bytes is None

    # file operations work the same on XFS
    await xfs_volume.fsops.mkdir(vfid, "d/e", parents=True, exist_ok=False)
    await xfs_volume.fsops.move(vfid, "data.bin", "d/e")
    assert [e.filename for e in (await xfs_volume.fsops.scandir(vfid, "d/e", limit=10)).entries] == ["data.bin"]

    with pytest.raises(QuotaScopeNotEmpty):
        await qm.delete_quota_scope(alice)
    await xfs_volume.delete_vfolder(vfid)
    await qm.delete_quota_scope(alice)
    assert not alice_dir.exists()
    assert cmd_project_clear(alice_dir, 200000) in runner.commands
    with pytest.raises(QuotaScopeNotFound):
        await qm.describe_quota_scope(alice)
    # the id of a deleted scope is not reused
    bob = QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())
    await qm.create_quota_scope(bob, None)
    assert project_id_of(xfs_volume.quota_scope_path(bob)) == 200002


def _mount_with_prjquota(tmp_path: Path) -> tuple[Path, Path] | None:
    image, mnt = tmp_path / "pq.img", tmp_path / f"pq-{uuid.uuid4().hex[:8]}"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(320 * 1024 * 1024)
    subprocess.run(["mkfs.xfs", "-q", str(image)], check=True)
    r = subprocess.run(["mount", "-o", "loop,prjquota", str(image), str(mnt)], capture_output=True)
    return (image, mnt) if r.returncode == 0 else None


async def test_kernel_enforces_hard_limit(tmp_path: Path, xfs_mount: Path) -> None:
    """With a quota-capable kernel: a write beyond the scope's limit fails with EDQUOT.
    Without one (this machine): the volume refuses to start and says why."""
    mounted = _mount_with_prjquota(tmp_path)
    if mounted is None:
        with pytest.raises(VolumeInitError, match="prjquota"):
            await XfsVolume("xfs1", xfs_mount, {}).init()
        print("kernel without XFS quota support: hard-limit enforcement not exercised")
        return
    image, mnt = mounted
    try:
        vol = XfsVolume("xfs1", mnt, {})
        await vol.init()
        qsid = QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())
        await vol.quota_model.create_quota_scope(qsid, 4 * 2**20)
        vfid = VFolderID(qsid, uuid.uuid4())
        await vol.create_vfolder(vfid)
        with pytest.raises(OSError) as exc, open(vol.mangle_vfpath(vfid) / "big", "wb") as f:
            for _ in range(8):
                f.write(os.urandom(2**20))
                f.flush()
                os.fsync(f.fileno())
        assert exc.value.errno in (errno.EDQUOT, errno.ENOSPC)
        await vol.shutdown()
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
