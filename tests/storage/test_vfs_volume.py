import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID
from ai.backend.storage.errors import (
    FileAlreadyExists,
    FileNotFound,
    InvalidAPIParameters,
    InvalidPath,
    QuotaExceeded,
    QuotaScopeAlreadyExists,
    QuotaScopeNotEmpty,
    QuotaScopeNotFound,
    VFolderAlreadyExists,
    VFolderNotFound,
)
from ai.backend.storage.volumes.abc import EntryType
from ai.backend.storage.volumes.vfs import VfsVolume


def new_vfid(qsid: QuotaScopeID | None = None) -> VFolderID:
    return VFolderID(qsid or QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())


@pytest.fixture
async def volume(tmp_path: Path) -> AsyncIterator[VfsVolume]:
    vol = VfsVolume("local", tmp_path / "vfroot" / "local", {})
    await vol.init()
    yield vol
    await vol.shutdown()


@pytest.fixture
async def vfid(volume: VfsVolume) -> VFolderID:
    v = new_vfid()
    await volume.create_vfolder(v)
    return v


async def test_layout_is_scope_then_sharded_folder(volume: VfsVolume, vfid: VFolderID) -> None:
    h = vfid.folder_id.hex
    expected = volume.path / vfid.quota_scope_id.scope_id.hex / h[:2] / h[2:4] / h[4:]
    assert volume.mangle_vfpath(vfid) == expected
    assert expected.is_dir()
    assert await volume.vfolder_exists(vfid)
    with pytest.raises(VFolderAlreadyExists):
        await volume.create_vfolder(vfid)


async def test_file_operations(volume: VfsVolume, vfid: VFolderID) -> None:
    ops = volume.fsops
    root = volume.mangle_vfpath(vfid)
    await ops.mkdir(vfid, "a/b/c", parents=True, exist_ok=False)
    assert (root / "a/b/c").is_dir()
    await ops.mkdir(vfid, "a/b/c", parents=False, exist_ok=True)
    with pytest.raises(FileAlreadyExists):
        await ops.mkdir(vfid, "a/b/c", parents=False, exist_ok=False)
    with pytest.raises(FileNotFound):
        await ops.mkdir(vfid, "x/y", parents=False, exist_ok=False)
    (root / "a" / "data.bin").write_bytes(b"x" * 1000)

    listing = await ops.scandir(vfid, "a", limit=100)
    assert [(e.filename, e.type, e.size) for e in listing.entries] == [
        ("b", EntryType.DIRECTORY, listing.entries[0].size),
        ("data.bin", EntryType.FILE, 1000),
    ]
    assert not listing.truncated
    assert (await ops.scandir(vfid, "a", limit=1)).truncated

    await ops.rename(vfid, "a/data.bin", "renamed.bin")
    assert (root / "a/renamed.bin").exists() and not (root / "a/data.bin").exists()
    await ops.mkdir(vfid, "a/other", parents=False, exist_ok=False)
    with pytest.raises(FileAlreadyExists):
        await ops.rename(vfid, "a/renamed.bin", "other")
    with pytest.raises(InvalidPath):
        await ops.rename(vfid, "a/renamed.bin", "../../x")

    await ops.move(vfid, "a/renamed.bin", "a/b")  # into an existing directory
    assert (root / "a/b/renamed.bin").exists()
    await ops.move(vfid, "a/b/renamed.bin", "top.bin")  # to a new name
    assert (root / "top.bin").read_bytes() == b"x" * 1000
    with pytest.raises(InvalidAPIParameters):
        await ops.move(vfid, "a", "a/b/inside")

    with pytest.raises(InvalidAPIParameters, match="recursive"):
        await ops.delete(vfid, ["a"], recursive=False)
    with pytest.raises(FileNotFound):
        await ops.delete(vfid, ["top.bin", "missing"], recursive=False)
    assert (root / "top.bin").exists()  # nothing deleted when one path is missing
    await ops.delete(vfid, ["top.bin", "a"], recursive=True)
    assert os.listdir(root) == []


async def test_every_operation_refuses_escapes(volume: VfsVolume, vfid: VFolderID, tmp_path: Path) -> None:
    ops = volume.fsops
    root = volume.mangle_vfpath(vfid)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("do not touch")
    (root / "link").symlink_to(outside)
    (root / "file").write_text("mine")
    bad_paths = ["../x", "/etc/passwd", "link/secret", "link/new", "a/../../x"]
    for p in bad_paths:
        with pytest.raises(InvalidPath):
            await ops.mkdir(vfid, p, parents=True, exist_ok=True)
        with pytest.raises(InvalidPath):
            await ops.scandir(vfid, p, limit=10)
        with pytest.raises(InvalidPath):
            await ops.rename(vfid, p, "z")
        with pytest.raises(InvalidPath):
            await ops.move(vfid, p, "moved")
        with pytest.raises(InvalidPath):
            await ops.move(vfid, "file", p)
        with pytest.raises(InvalidPath):
            await ops.delete(vfid, [p], recursive=True)
        with pytest.raises(InvalidPath):
            await ops.open_file(vfid, p)
        with pytest.raises(InvalidPath):
            await ops.stat(vfid, p)
    with pytest.raises(InvalidPath):
        await ops.scandir(vfid, "link", limit=10)
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "do not touch"
    assert (root / "file").read_text() == "mine"


async def test_quota_scope_lifecycle(volume: VfsVolume) -> None:
    qm = volume.quota_model
    qsid = QuotaScopeID(QuotaScopeType.PROJECT, uuid.uuid4())
    with pytest.raises(QuotaScopeNotFound):
        await qm.describe_quota_scope(qsid)
    await qm.create_quota_scope(qsid, 10_000)
    with pytest.raises(QuotaScopeAlreadyExists):
        await qm.create_quota_scope(qsid, None)
    usage = await qm.describe_quota_scope(qsid)
    assert (usage.used_bytes, usage.limit_bytes) == (0, 10_000)

    vfid = new_vfid(qsid)
    await volume.create_vfolder(vfid)
    (volume.mangle_vfpath(vfid) / "f").write_bytes(b"y" * 6000)
    assert (await qm.describe_quota_scope(qsid)).used_bytes == 6000
    await qm.ensure_space(qsid, 4000)
    with pytest.raises(QuotaExceeded) as exc:
        await qm.ensure_space(qsid, 4001)
    assert exc.value.data == {"limit_bytes": 10_000, "used_bytes": 6000, "reserved_bytes": 0,
                              "requested_bytes": 4001}
    with pytest.raises(QuotaExceeded):
        await qm.ensure_space(qsid, 1000, reserved_bytes=3500)

    await qm.update_quota_scope(qsid, None)
    assert (await qm.describe_quota_scope(qsid)).limit_bytes is None
    await qm.ensure_space(qsid, 10**12)

    with pytest.raises(QuotaScopeNotEmpty):
        await qm.delete_quota_scope(qsid)
    await volume.delete_vfolder(vfid)
    await qm.delete_quota_scope(qsid)
    assert not volume.quota_scope_path(qsid).exists()


async def test_delete_vfolder_vanishes_at_once(volume: VfsVolume, vfid: VFolderID) -> None:
    path = volume.mangle_vfpath(vfid)
    (path / "big").write_bytes(b"z" * 100_000)
    await volume.delete_vfolder(vfid)
    assert not path.exists()
    assert not await volume.vfolder_exists(vfid)
    with pytest.raises(VFolderNotFound):
        await volume.delete_vfolder(vfid)
    await asyncio.gather(*volume._cleanup_tasks)
    trash = volume.quota_scope_path(vfid.quota_scope_id) / ".trash"
    assert list(trash.iterdir()) == []


async def test_usage_metadata_and_clone(volume: VfsVolume, vfid: VFolderID) -> None:
    root = volume.mangle_vfpath(vfid)
    (root / "d").mkdir()
    (root / "d" / "f1").write_bytes(b"1" * 100)
    (root / "f2").write_bytes(b"2" * 50)
    os.link(root / "f2", root / "f2-hardlink")
    (root / "rel-link").symlink_to("d/f1")
    usage = await volume.get_usage(vfid)
    assert (usage.file_count, usage.used_bytes) == (5, 150)

    assert await volume.get_metadata(vfid) == b""
    await volume.put_metadata(vfid, b'{"k": 1}')
    assert await volume.get_metadata(vfid) == b'{"k": 1}'

    dst = new_vfid()
    await volume.clone_vfolder(vfid, volume, dst)
    droot = volume.mangle_vfpath(dst)
    assert (droot / "d" / "f1").read_bytes() == b"1" * 100
    assert os.readlink(droot / "rel-link") == "d/f1"
    assert await volume.get_metadata(dst) == b'{"k": 1}'

    fs = await volume.get_fs_usage()
    assert fs.capacity_bytes > fs.used_bytes > 0


async def test_clone_respects_destination_quota(volume: VfsVolume, vfid: VFolderID) -> None:
    (volume.mangle_vfpath(vfid) / "f").write_bytes(b"q" * 5000)
    dst_scope = QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())
    await volume.quota_model.create_quota_scope(dst_scope, 4000)
    dst = new_vfid(dst_scope)
    with pytest.raises(QuotaExceeded):
        await volume.clone_vfolder(vfid, volume, dst)
    assert not await volume.vfolder_exists(dst)


async def test_missing_vfolder(volume: VfsVolume) -> None:
    ghost = new_vfid()
    with pytest.raises(VFolderNotFound):
        await volume.fsops.scandir(ghost, ".", limit=10)
    with pytest.raises(VFolderNotFound):
        await volume.get_usage(ghost)


async def test_fifos_never_block(volume: VfsVolume, vfid: VFolderID) -> None:
    """A user may leave a fifo where a file was: opening it must not hang a proxy thread."""
    root = volume.mangle_vfpath(vfid)
    (root / "d").mkdir()
    (root / "d" / "real.txt").write_text("ok")
    os.mkfifo(root / "d" / "pipe")
    with pytest.raises(InvalidAPIParameters, match="not a regular file"):
        await asyncio.wait_for(volume.fsops.open_file(vfid, "d/pipe"), 5)
    names = []
    for name, fd in volume.fsops.walk_for_archive(vfid, "d"):
        names.append(name)
        if fd is not None:
            os.close(fd)
    assert names == ["real.txt"]
    dst = new_vfid()
    await asyncio.wait_for(volume.clone_vfolder(vfid, volume, dst), 5)
    assert os.listdir(volume.mangle_vfpath(dst) / "d") == ["real.txt"]
