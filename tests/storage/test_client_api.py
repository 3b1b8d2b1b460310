"""The client-facing API over real HTTP: tus uploads the way the official client sends them
(aiotusclient: PATCH chunks with Upload-Offset from 0, no creation POST, 204 replies) and
downloads the way it resumes them (Range + If-Range = the Last-Modified it got)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import jwt
import pytest

from ai.backend.common.storage_proxy_client import StorageProxyError, TransferToken
from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID

from .conftest import RunningProxy

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60)
TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
async def vfolder(proxy: RunningProxy) -> tuple[VFolderID, Path]:
    vfid = VFolderID(QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())
    path = await proxy.client.create_folder("local", vfid)
    return vfid, Path(path)


async def tus_upload(http: aiohttp.ClientSession, tok: TransferToken, data: bytes, chunk: int = 1 << 20) -> None:
    """What aiotusclient's AsyncUploader.upload() does: PATCH from offset 0 until done."""
    offset = 0
    while offset < len(data):
        body = data[offset:offset + chunk]
        async with http.patch(tok.url, params={"token": tok.token}, data=body,
                              headers={**TUS, "Upload-Offset": str(offset)}) as r:
            assert r.status == 204, await r.text()
            assert r.headers["Tus-Resumable"] == "1.0.0"
            offset = int(r.headers["Upload-Offset"])


async def problem(r: aiohttp.ClientResponse) -> dict:
    assert r.content_type == "application/problem+json"
    return await r.json(content_type=None)


async def test_upload_then_download(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    data = os.urandom(5 * 2**20 + 123)
    tok = await proxy.client.issue_upload("local", vfid, "dir/sub/data.bin", len(data))
    assert tok.url == proxy.client_url + "/upload"
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        await tus_upload(http, tok, data, chunk=2 * 2**20)
        assert (root / "dir/sub/data.bin").read_bytes() == data
        async with http.head(tok.url, params={"token": tok.token}) as r:
            assert r.status == 200
            assert r.headers["Upload-Offset"] == r.headers["Upload-Length"] == str(len(data))
        # a repeated final PATCH (a client retrying) is answered, not duplicated
        async with http.patch(tok.url, params={"token": tok.token}, data=b"",
                              headers={**TUS, "Upload-Offset": str(len(data))}) as r:
            assert r.status == 204 and r.headers["Upload-Offset"] == str(len(data))

        dl = await proxy.client.issue_download("local", vfid, "dir/sub/data.bin")
        assert dl.size == len(data)
        async with http.get(dl.url, params={"token": dl.token}) as r:
            assert r.status == 200
            assert int(r.headers["Content-Length"]) == len(data)
            assert r.headers["Accept-Ranges"] == "bytes"
            assert "data.bin" in r.headers["Content-Disposition"]
            assert "Last-Modified" in r.headers
            assert r.headers["Access-Control-Allow-Origin"] == "*"  # browsers (the web UI) may read it
            assert "Content-Range" in r.headers["Access-Control-Expose-Headers"]
            assert await r.read() == data
        async with http.head(dl.url, params={"token": dl.token}) as r:
            assert r.status == 200 and int(r.headers["Content-Length"]) == len(data)
            assert await r.read() == b""


async def test_zero_byte_upload_needs_no_patch(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    (root / "empty.txt").write_text("old content is replaced")
    tok = await proxy.client.issue_upload("local", vfid, "empty.txt", 0)
    assert (root / "empty.txt").read_bytes() == b""
    tok2 = await proxy.client.issue_upload("local", vfid, "new/empty2", 0)
    assert (root / "new" / "empty2").is_file()
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.head(tok.url, params={"token": tok.token}) as r:
            assert r.headers["Upload-Offset"] == "0"
        async with http.patch(tok2.url, params={"token": tok2.token}, data=b"",
                              headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 204


async def test_no_partial_file_and_resume(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    data = os.urandom(3 * 2**20)
    tok = await proxy.client.issue_upload("local", vfid, "big.bin", len(data))
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.patch(tok.url, params={"token": tok.token}, data=data[:2**20],
                              headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 204 and r.headers["Upload-Offset"] == str(2**20)
        assert not (root / "big.bin").exists()  # nothing visible before the last byte
        assert os.listdir(root) == []

        # drop the connection in the middle of a PATCH body
        host, port = proxy.client_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (f"PATCH /upload?token={tok.token} HTTP/1.1\r\nHost: {host}\r\n"
                f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Upload-Offset: {2**20}\r\nContent-Length: {2**20}\r\n\r\n")
        writer.write(head.encode() + data[2**20:2**20 + 300_000])
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        await asyncio.sleep(0.3)
        assert not (root / "big.bin").exists()

        async with http.head(tok.url, params={"token": tok.token}) as r:  # where to resume
            offset = int(r.headers["Upload-Offset"])
        assert 2**20 <= offset <= 2**20 + 300_000
        async with http.patch(tok.url, params={"token": tok.token}, data=b"x",
                              headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 409 and r.headers["Upload-Offset"] == str(offset)
        async with http.patch(tok.url, params={"token": tok.token}, data=data[offset:],
                              headers={**TUS, "Upload-Offset": str(offset)}) as r:
            assert r.status == 204 and r.headers["Upload-Offset"] == str(len(data))
    assert (root / "big.bin").read_bytes() == data


async def test_tus_protocol_errors(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    tok = await proxy.client.issue_upload("local", vfid, "f.bin", 10)
    q = {"token": tok.token}
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.options(tok.url) as r:
            assert r.status == 204 and r.headers["Tus-Version"] == "1.0.0"
        async with http.options(tok.url, headers={"Origin": "https://webui.example",
                                                  "Access-Control-Request-Method": "PATCH"}) as r:
            assert r.status == 204
            assert "Upload-Offset" in r.headers["Access-Control-Allow-Headers"]
            assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
        async with http.patch(tok.url, params=q, data=b"abc",
                              headers={"Content-Type": TUS["Content-Type"], "Upload-Offset": "0"}) as r:
            assert r.status == 412
        async with http.patch(tok.url, params=q, data=b"abc",
                              headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0"}) as r:
            assert r.status == 415
        async with http.patch(tok.url, params=q, data=b"abc", headers={**TUS, "Upload-Offset": "-1"}) as r:
            assert r.status == 400 and "Upload-Offset" in (await problem(r))["msg"]
        async with http.patch(tok.url, params=q, data=b"x" * 11, headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 413
        async with http.patch(tok.url, params={**q, "dst_dir": "elsewhere"}, data=b"abc",
                              headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 400
        async with http.patch(tok.url, data=b"abc", headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 401
        async with http.head(tok.url, params=q) as r:
            assert r.headers["Upload-Offset"] == "0"
    assert os.listdir(root) == []


async def test_tokens_are_checked(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    (root / "mine.txt").write_text("mine")
    (root / "other.txt").write_text("other")
    dl = await proxy.client.issue_download("local", vfid, "mine.txt")
    up = await proxy.client.issue_upload("local", vfid, "up.txt", 3)
    secret = proxy.config["storage-proxy"]["secret"]
    key = hashlib.sha256(secret.encode()).digest()
    claims = jwt.decode(dl.token, key, algorithms=["HS256"], options={"verify_iss": False})
    forged = jwt.encode({**claims, "relpath": "other.txt"}, b"guessed-secret-" * 3, algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())},
                         key, algorithm="HS256")
    header, payload, sig = dl.token.split(".")
    tampered = f"{header}.{payload[:-2]}{'AA' if payload[-2:] != 'AA' else 'BB'}.{sig}"
    base = proxy.client_url
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        for bad in (forged, expired, tampered, "garbage", up.token):
            async with http.get(base + "/download", params={"token": bad}) as r:
                assert r.status == 401, bad
                assert (await problem(r))["type"].endswith("/storage/invalid-token")
        # the token names one file: extra parameters cannot point it elsewhere
        async with http.get(base + "/download", params={"token": dl.token, "relpath": "other.txt",
                                                        "path": "other.txt"}) as r:
            assert await r.read() == b"mine"
        async with http.get(base + "/download", params={"token": dl.token, "dst_dir": ".."}) as r:
            assert r.status == 400
        async with http.patch(base + "/upload", params={"token": dl.token}, data=b"abc",
                              headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 401


async def test_ranges_and_resume(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    data = os.urandom(1_000_000)
    (root / "r.bin").write_bytes(data)
    os.utime(root / "r.bin", (1_700_000_000.75, 1_700_000_000.75))  # a fractional mtime
    dl = await proxy.client.issue_download("local", vfid, "r.bin")
    q = {"token": dl.token}
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.get(dl.url, params=q, headers={"Range": "bytes=10-19"}) as r:
            assert r.status == 206
            assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
            assert r.headers["Content-Length"] == "10"
            assert await r.read() == data[10:20]
        async with http.get(dl.url, params=q, headers={"Range": "bytes=-5"}) as r:
            assert r.status == 206 and await r.read() == data[-5:]
        async with http.get(dl.url, params=q, headers={"Range": "bytes=0-1,5-6"}) as r:
            assert r.status == 200 and len(await r.read()) == len(data)
        async with http.get(dl.url, params=q, headers={"Range": f"bytes={len(data)}-"}) as r:
            assert r.status == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"

        # resume like the official client: read part, drop, continue with Range + If-Range
        async with http.get(dl.url, params=q) as r:
            assert r.status == 200
            last_modified = r.headers["Last-Modified"]
            etag = r.headers["ETag"]
            first = await r.content.readexactly(300_000)
        hdrs = {"Range": f"bytes={len(first)}-", "If-Range": last_modified}
        async with http.get(dl.url, params=q, headers=hdrs) as r:
            assert r.status == 206
            assert int(r.headers["Content-Length"]) == len(data) - len(first)
            rest = await r.read()
        assert first + rest == data
        async with http.get(dl.url, params=q, headers={"Range": "bytes=5-", "If-Range": etag}) as r:
            assert r.status == 206 and await r.read() == data[5:]

        # the file changed since: If-Range no longer matches, the whole file comes back
        os.utime(root / "r.bin", (1_700_000_100, 1_700_000_100))
        async with http.get(dl.url, params=q, headers=hdrs) as r:
            assert r.status == 200 and await r.read() == data


async def test_archive_download(proxy: RunningProxy, vfolder: tuple[VFolderID, Path], tmp_path: Path) -> None:
    vfid, root = vfolder
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "a.txt").write_text("A")
    (root / "d" / "e" / "b.bin").write_bytes(os.urandom(3 * 2**20))
    (root / "d" / "empty").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    (root / "d" / "leak").symlink_to(outside / "secret")
    with pytest.raises(StorageProxyError) as exc:
        await proxy.client.issue_download("local", vfid, "d")
    assert exc.value.status == 400 and "archive" in str(exc.value.msg)
    dl = await proxy.client.issue_download("local", vfid, "d", archive=True)
    assert dl.archive
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.get(dl.url, params={"token": dl.token}) as r:
            assert r.status == 200 and r.content_type == "application/zip"
            assert 'filename="d.zip"' in r.headers["Content-Disposition"]
            blob = await r.read()
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert sorted(zf.namelist()) == ["a.txt", "e/", "e/b.bin", "empty/"]
        assert zf.read("a.txt") == b"A"
        assert zf.read("e/b.bin") == (root / "d" / "e" / "b.bin").read_bytes()
        assert zf.testzip() is None


async def test_quota_limits_uploads(proxy: RunningProxy) -> None:
    c = proxy.client
    qsid = QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())
    await c.create_quota_scope("local", qsid, 2 * 2**20)
    vfid = VFolderID(qsid, uuid.uuid4())
    root = Path(await c.create_folder("local", vfid))
    with pytest.raises(StorageProxyError) as exc:
        await c.issue_upload("local", vfid, "too-big.bin", 2 * 2**20 + 1)
    assert exc.value.status == 413 and exc.value.slug == "storage/quota-exceeded"
    assert exc.value.data is not None and exc.value.data["limit_bytes"] == 2 * 2**20
    first = await c.issue_upload("local", vfid, "a.bin", 1_500_000)
    # the first upload has not sent a byte yet, but its size is already reserved
    with pytest.raises(StorageProxyError) as exc:
        await c.issue_upload("local", vfid, "b.bin", 600_000)
    assert exc.value.status == 413
    assert exc.value.data is not None and exc.value.data["reserved_bytes"] == 1_500_000
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        await tus_upload(http, first, os.urandom(1_500_000))
    assert (await c.get_quota_scope("local", qsid)).used_bytes == 1_500_000
    with pytest.raises(StorageProxyError):
        await c.issue_upload("local", vfid, "b.bin", 600_000)
    assert sorted(os.listdir(root)) == ["a.bin"]
    with pytest.raises(StorageProxyError) as exc:
        await c.issue_upload("local", vfid, "huge.bin", 65 * 2**20)  # max-upload-size = 64m
    assert exc.value.status == 413 and exc.value.slug == "storage/upload-too-large"


async def test_symlink_swapped_after_token_is_refused(proxy: RunningProxy, vfolder: tuple[VFolderID, Path],
                                                      tmp_path: Path) -> None:
    vfid, root = vfolder
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("outside secret")
    (root / "sub").mkdir()
    (root / "sub" / "f.txt").write_text("inside")
    dl = await proxy.client.issue_download("local", vfid, "sub/f.txt")
    up = await proxy.client.issue_upload("local", vfid, "sub/new.txt", 4)
    # a session container replaces the directory with a symlink to somewhere else
    shutil.rmtree(root / "sub")
    (root / "sub").symlink_to(outside)
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.get(dl.url, params={"token": dl.token}) as r:
            assert r.status == 400
            assert (await problem(r))["type"].endswith("/storage/invalid-path")
        async with http.patch(up.url, params={"token": up.token}, data=b"evil",
                              headers={**TUS, "Upload-Offset": "0"}) as r:
            assert r.status == 400
    assert sorted(os.listdir(outside)) == ["f.txt"]
    assert (outside / "f.txt").read_text() == "outside secret"


async def test_concurrent_patch_is_refused(proxy: RunningProxy, vfolder: tuple[VFolderID, Path]) -> None:
    vfid, root = vfolder
    tok = await proxy.client.issue_upload("local", vfid, "c.bin", 2**20)
    host, port = proxy.client_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write((f"PATCH /upload?token={tok.token} HTTP/1.1\r\nHost: {host}\r\n"
                  f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
                  f"Upload-Offset: 0\r\nContent-Length: {2**20}\r\n\r\n").encode() + b"a" * 1000)
    await writer.drain()
    await asyncio.sleep(0.3)  # the first PATCH now holds the session
    try:
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            async with http.patch(tok.url, params={"token": tok.token}, data=b"b" * 10,
                                  headers={**TUS, "Upload-Offset": "0"}) as r:
                assert r.status == 409
                assert (await problem(r))["type"].endswith("/storage/upload-busy")
    finally:
        writer.close()


async def test_concurrent_uploads_cannot_overbook_a_quota(proxy: RunningProxy) -> None:
    c = proxy.client
    qsid = QuotaScopeID(QuotaScopeType.PROJECT, uuid.uuid4())
    await c.create_quota_scope("local", qsid, 2 * 2**20)
    vfid = VFolderID(qsid, uuid.uuid4())
    await c.create_folder("local", vfid)
    results = await asyncio.gather(*(c.issue_upload("local", vfid, f"f{i}.bin", 1_500_000) for i in range(4)),
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, TransferToken)]
    refused = [r for r in results if isinstance(r, StorageProxyError)]
    assert len(ok) == 1 and len(refused) == 3
    assert all(r.status == 413 for r in refused)
