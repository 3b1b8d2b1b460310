"""The `xfs` backend: XFS project quotas give each quota scope a kernel-enforced hard limit.

Each quota scope directory gets its own XFS project id (tracked in `<volume>/.xfs-projects.json`,
guarded by a file lock) and is tagged with `xfs_quota -x -c 'project -s -p DIR ID'`, so every
file created beneath it (vfolders, tus temp files) is accounted to that project. Limits are
set with `limit -p bhard=BYTES ID` and usage is read from `report -p -b -n -N -L ID -U ID`.

The file system must be mounted with `-o prjquota` on a kernel built with CONFIG_XFS_QUOTA;
init() refuses to serve the volume otherwise, with a message that says so.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai.backend.common.storage_types import QuotaScopeID, VolumeCapability

from ..errors import BackendError, QuotaScopeAlreadyExists, QuotaScopeNotEmpty, QuotaScopeNotFound
from .abc import AbstractQuotaModel, QuotaUsage, VolumeInitError
from .vfs import VfsVolume, check_fits, in_thread

log = logging.getLogger(__name__)

REGISTRY_FILE = ".xfs-projects.json"
DEFAULT_PROJECT_ID_BASE = 100000


# --- xfs_quota commands and their output ------------------------------------------------

def cmd_state() -> str:
    return "state -p"


def cmd_project_setup(directory: Path, project_id: int) -> str:
    return f"project -s -p {shlex.quote(str(directory))} {project_id}"


def cmd_project_clear(directory: Path, project_id: int) -> str:
    return f"project -C -p {shlex.quote(str(directory))} {project_id}"


def cmd_limit(project_id: int, hard_bytes: int | None) -> str:
    """Limits in bytes (xfs_quota rounds down to 512-byte units); 0 removes the limit."""
    hard = hard_bytes or 0
    return f"limit -p bsoft={hard} bhard={hard} {project_id}"


def cmd_report(project_id: int) -> str:
    return f"report -p -b -n -N -L {project_id} -U {project_id}"


@dataclass(frozen=True)
class ProjectQuota:
    project_id: int
    used_bytes: int
    soft_bytes: int
    hard_bytes: int


def parse_report(output: str) -> dict[int, ProjectQuota]:
    """Parse `report -p -b -n` lines such as
    `#100001       1024          0      10240     00 [--------]` (values in KiB)."""
    result: dict[int, ProjectQuota] = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].startswith("#"):
            continue
        try:
            pid = int(fields[0][1:])
            used, soft, hard = (int(f) * 1024 for f in fields[1:4])
        except ValueError:
            continue
        result[pid] = ProjectQuota(pid, used, soft, hard)
    return result


def parse_state(output: str) -> tuple[bool, bool]:
    """(accounting, enforcement) of project quota from `state -p`; both False if absent."""
    accounting = enforcement = False
    in_project = False
    for line in output.splitlines():
        stripped = line.strip()
        if line and not line[0].isspace():
            in_project = stripped.startswith("Project quota state on")
            continue
        if in_project and stripped.startswith("Accounting:"):
            accounting = stripped.split(":", 1)[1].strip() == "ON"
        elif in_project and stripped.startswith("Enforcement:"):
            enforcement = stripped.split(":", 1)[1].strip() == "ON"
    return accounting, enforcement


@dataclass(frozen=True)
class MountInfo:
    mount_point: Path
    fstype: str
    source: str
    options: frozenset[str]


def find_mount(path: Path, mountinfo: str | None = None) -> MountInfo:
    """The mount holding `path`, from /proc/self/mountinfo (longest matching mount point)."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    real = os.path.realpath(path)
    best: MountInfo | None = None
    for line in mountinfo.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, tail = pre.split(), post.split()
        if len(fields) < 6 or len(tail) < 3:
            continue
        mnt = fields[4].encode().decode("unicode_escape")  # \040 for spaces
        inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
        if inside and (best is None or len(mnt) >= len(str(best.mount_point))):
            opts = frozenset(fields[5].split(",")) | frozenset(tail[2].split(","))
            best = MountInfo(Path(mnt), tail[0], tail[1], opts)
    if best is None:
        raise VolumeInitError(f"cannot find the mount holding {path}")
    return best


class XfsQuotaRunner:
    """Runs `xfs_quota -x -c COMMAND MOUNT`; any exit status or stderr output is a failure
    (xfs_quota often exits 0 after printing an error)."""

    async def run(self, command: str, mount_point: Path) -> str:
        proc = await asyncio.create_subprocess_exec(
            "xfs_quota", "-x", "-c", command, str(mount_point),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0 or err.strip():
            raise BackendError(f"xfs_quota -c {command!r} failed: {err.decode(errors='replace').strip()}")
        return out.decode(errors="replace")


class ProjectRegistry:
    """Quota scope -> XFS project id, persisted in the volume and locked across processes."""

    def __init__(self, volume_path: Path, base: int) -> None:
        self.path = volume_path / REGISTRY_FILE
        self.base = base

    def _locked(self, fn: Any) -> Any:
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text()) if self.path.exists() else {}
                data.setdefault("next_id", self.base)
                data.setdefault("scopes", {})
                result, changed = fn(data)
                if changed:
                    tmp = self.path.with_suffix(".tmp")
                    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
                    os.replace(tmp, self.path)
                return result
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def get(self, qsid: QuotaScopeID) -> int | None:
        return self._locked(lambda d: (d["scopes"].get(str(qsid)), False))

    def allocate(self, qsid: QuotaScopeID) -> int:
        def _alloc(d: dict[str, Any]) -> tuple[int, bool]:
            key = str(qsid)
            if key in d["scopes"]:
                return d["scopes"][key], False
            pid = int(d["next_id"])
            d["next_id"] = pid + 1
            d["scopes"][key] = pid
            return pid, True
        return self._locked(_alloc)

    def release(self, qsid: QuotaScopeID) -> None:
        self._locked(lambda d: (None, d["scopes"].pop(str(qsid), None) is not None))


class XfsProjectQuotaModel(AbstractQuotaModel):
    def __init__(self, volume: XfsVolume) -> None:
        self.volume = volume
        base = int(volume.options.get("project-id-base", DEFAULT_PROJECT_ID_BASE))
        self.registry = ProjectRegistry(volume.path, base)

    async def _xfs(self, command: str) -> str:
        return await self.volume.runner.run(command, self.volume.mount_point)

    async def _project_id(self, qsid: QuotaScopeID) -> int:
        pid = await in_thread(self.registry.get, qsid)
        if pid is None or not self.volume.quota_scope_path(qsid).is_dir():
            raise QuotaScopeNotFound(f"quota scope {qsid} does not exist on volume {self.volume.name!r}")
        return pid

    async def _report(self, pid: int) -> ProjectQuota:
        # a project without any charged block or limit has no quota record: report it as empty
        return parse_report(await self._xfs(cmd_report(pid))).get(pid, ProjectQuota(pid, 0, 0, 0))

    async def create_quota_scope(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        path = self.volume.quota_scope_path(qsid)
        try:
            await in_thread(self.volume.make_dir, path)
        except FileExistsError:
            raise QuotaScopeAlreadyExists(f"quota scope {qsid} already exists on volume {self.volume.name!r}") from None
        try:
            pid = await in_thread(self.registry.allocate, qsid)
            await self._xfs(cmd_project_setup(path, pid))
            if limit_bytes is not None:
                await self._xfs(cmd_limit(pid, limit_bytes))
        except BaseException:
            await in_thread(self.registry.release, qsid)
            await in_thread(os.rmdir, path)
            raise

    async def ensure_quota_scope(self, qsid: QuotaScopeID) -> None:
        try:
            await self.create_quota_scope(qsid, None)
        except QuotaScopeAlreadyExists:
            pass

    async def describe_quota_scope(self, qsid: QuotaScopeID) -> QuotaUsage:
        q = await self._report(await self._project_id(qsid))
        return QuotaUsage(used_bytes=q.used_bytes, limit_bytes=q.hard_bytes or None)

    async def update_quota_scope(self, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        await self._xfs(cmd_limit(await self._project_id(qsid), limit_bytes))

    async def delete_quota_scope(self, qsid: QuotaScopeID) -> None:
        pid = await self._project_id(qsid)
        if self.volume.list_vfolder_dirs(qsid):
            raise QuotaScopeNotEmpty(f"quota scope {qsid} still holds vfolders; delete them first")
        path = self.volume.quota_scope_path(qsid)
        await self._xfs(cmd_limit(pid, None))
        await self._xfs(cmd_project_clear(path, pid))
        await self.volume.wait_cleanups()
        await in_thread(shutil.rmtree, path)
        await in_thread(self.registry.release, qsid)

    async def ensure_space(self, qsid: QuotaScopeID, extra_bytes: int, reserved_bytes: int = 0) -> None:
        q = await self._report(await self._project_id(qsid))
        if q.hard_bytes:
            check_fits(qsid, q.hard_bytes, q.used_bytes, reserved_bytes, extra_bytes)


class XfsVolume(VfsVolume):
    backend = "xfs"

    def __init__(self, *args: Any, runner: XfsQuotaRunner | None = None, **kwargs: Any) -> None:
        self.runner = runner or XfsQuotaRunner()
        super().__init__(*args, **kwargs)
        self.mount_point = self.path

    def make_quota_model(self) -> AbstractQuotaModel:
        return XfsProjectQuotaModel(self)

    @property
    def capabilities(self) -> frozenset[VolumeCapability]:
        return frozenset({VolumeCapability.VFOLDER, VolumeCapability.QUOTA,
                          VolumeCapability.KERNEL_QUOTA, VolumeCapability.FAST_SIZE})

    async def init(self) -> None:
        if not self.path.is_dir():
            raise VolumeInitError(f"volume {self.name!r}: {self.path} does not exist (it must be on an XFS mount)")
        mount = find_mount(self.path)
        self.mount_point = mount.mount_point
        await self.verify_project_quota(mount)
        await super().init()

    async def verify_project_quota(self, mount: MountInfo) -> None:
        """Refuse to serve the volume unless the kernel enforces project quotas on it."""
        if mount.fstype != "xfs":
            raise VolumeInitError(
                f"volume {self.name!r}: {self.path} is on {mount.fstype} ({mount.mount_point}), not XFS"
            )
        if not mount.options & {"prjquota", "pquota"}:
            raise VolumeInitError(
                f"volume {self.name!r}: the XFS file system at {mount.mount_point} is mounted without "
                f"project quotas (options: {','.join(sorted(mount.options))}); mount it with "
                "-o prjquota (the kernel needs CONFIG_XFS_QUOTA)"
            )
        accounting, enforcement = parse_state(await self.runner.run(cmd_state(), mount.mount_point))
        if not (accounting and enforcement):
            raise VolumeInitError(
                f"volume {self.name!r}: project quota on {mount.mount_point} is not active "
                f"(accounting {'ON' if accounting else 'OFF'}, enforcement {'ON' if enforcement else 'OFF'})"
            )
