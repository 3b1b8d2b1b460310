"""Upload sessions (tus.py) on a vfs volume, without HTTP: expiry sweeping, ownership,
size enforcement and how the state survives a new process (it is all on disk)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID
from ai.backend.storage.errors import (
    FileAlreadyExists,
    UploadOffsetMismatch,
    UploadSessionNotFound,
    UploadTooLarge,
)
from ai.backend.storage.tokens import TokenCodec
from ai.backend.storage.tus import UploadSessions
from ai.backend.storage.volumes.pool import VolumePool
from ai.backend.storage.volumes.vfs import VfsVolume

OWNER = (1100, 1100)
Setup = tuple[VfsVolume, UploadSessions, TokenCodec, VFolderID]


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for c in chunks:
        yield c


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    vol = VfsVolume("local", tmp_path / "local", {}, owner=OWNER)
    await vol.init()
    uploads = UploadSessions(VolumePool({"local": vol}), max_upload_size=10 * 2**20)
    vfid = VFolderID(QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())
    await vol.create_vfolder(vfid)
    yield vol, uploads, TokenCodec("unit-test-secret", timedelta(hours=1)), vfid
    await vol.shutdown()


async def test_upload_files_and_dirs_get_the_configured_owner(setup: Setup) -> None:
    vol, uploads, codec, vfid = setup
    root = vol.mangle_vfpath(vfid)
    assert (os.stat(root).st_uid, os.stat(root).st_gid) == OWNER
    _, tok = codec.issue_upload("local", vfid, "new/dir/f.bin", 6)
    await uploads.create(vol, tok)
    assert await uploads.write(vol, tok, 0, 6, body(b"abc", b"def")) == 6
    f = root / "new" / "dir" / "f.bin"
    assert f.read_bytes() == b"abcdef"
    for p in (f, root / "new", root / "new" / "dir"):
        assert (os.stat(p).st_uid, os.stat(p).st_gid) == OWNER
    assert oct(os.stat(f).st_mode & 0o777) == "0o644"


async def test_state_is_on_disk(setup: Setup) -> None:
    vol, uploads, codec, vfid = setup
    _, tok = codec.issue_upload("local", vfid, "f.bin", 10)
    await uploads.create(vol, tok)
    assert await uploads.write(vol, tok, 0, None, body(b"12345")) == 5
    # a restarted proxy (new objects) continues where the old one stopped
    again = UploadSessions(VolumePool({"local": vol}), max_upload_size=10 * 2**20)
    assert await again.offset(vol, tok) == 5
    with pytest.raises(UploadOffsetMismatch):
        await again.write(vol, tok, 0, None, body(b"x"))
    assert await again.write(vol, tok, 5, None, body(b"67890")) == 10
    assert (vol.mangle_vfpath(vfid) / "f.bin").read_bytes() == b"1234567890"


async def test_size_is_enforced_without_content_length(setup: Setup) -> None:
    vol, uploads, codec, vfid = setup
    _, tok = codec.issue_upload("local", vfid, "f.bin", 4)
    await uploads.create(vol, tok)
    with pytest.raises(UploadTooLarge):
        await uploads.write(vol, tok, 0, None, body(b"ab", b"cde"))
    assert await uploads.offset(vol, tok) == 2  # the chunk that fit is kept, the rest dropped
    assert not (vol.mangle_vfpath(vfid) / "f.bin").exists()
    _, big = codec.issue_upload("local", vfid, "big.bin", 10 * 2**20 + 1)
    with pytest.raises(UploadTooLarge):
        await uploads.create(vol, big)


async def test_directory_target_is_refused(setup: Setup) -> None:
    vol, uploads, codec, vfid = setup
    (vol.mangle_vfpath(vfid) / "d").mkdir()
    _, tok = codec.issue_upload("local", vfid, "d", 3)
    with pytest.raises(FileAlreadyExists):
        await uploads.create(vol, tok)


async def test_sweep_removes_expired_sessions(setup: Setup) -> None:
    vol, uploads, codec, vfid = setup
    _, live = codec.issue_upload("local", vfid, "live.bin", 10)
    old_codec = TokenCodec("unit-test-secret", timedelta(seconds=1))
    _, stale = old_codec.issue_upload("local", vfid, "stale.bin", 10,
                                      now=datetime.now(UTC) - timedelta(minutes=5))
    for tok in (live, stale):
        await uploads.create(vol, tok)
        await uploads.write(vol, tok, 0, None, body(b"123"))
    upload_dir = vol.upload_dir(vfid.quota_scope_id)
    assert len(list(upload_dir.glob("*.part"))) == 2
    assert uploads.sweep_expired() == 1
    assert [p.stem for p in upload_dir.glob("*.part")] == [live.session]
    with pytest.raises(UploadSessionNotFound):
        await uploads.offset(vol, stale)
    assert await uploads.offset(vol, live) == 3
