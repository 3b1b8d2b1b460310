"""Files inside a vfolder through the manager's API and the storage proxy's token URLs:
mkdir/ls/move/rename/delete, tus uploads (also zero bytes), downloads with Range/If-Range,
directory archives; paths and tokens that try to escape or widen their reach are refused."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from ai.backend.common.storage_types import VFolderID
from manager.helpers import SignedClient
from manager.rows import USER_UUID
from manager.vfolders.vfhelpers import http_get, tus_upload


async def _folder(vf: Any, client: SignedClient, name: str = "work") -> Path:
    resp = await client.request("POST", "/folders", json_body={"name": name})
    assert resp.status == 201, resp.body
    h = resp.body["id"]
    return vf.storage.volume_path() / USER_UUID.hex / h[0:2] / h[2:4] / h[4:]


async def _upload(client: SignedClient, folder: str, path: str, data: bytes) -> dict[str, Any]:
    resp = await client.request("POST", f"/folders/{folder}/request-upload", json_body={"path": path, "size": len(data)})
    assert resp.status == 200, resp.body
    await tus_upload(resp.body["url"], resp.body["token"], data)
    return resp.body  # type: ignore[no-any-return]


async def _files(client: SignedClient, folder: str, path: str = ".") -> dict[str, dict[str, Any]]:
    resp = await client.request("GET", f"/folders/{folder}/files", json_body={"path": path})
    assert resp.status == 200, resp.body
    return {f["filename"]: f for f in json.loads(resp.body["files"])}


async def test_file_operations_roundtrip(vf: Any, user: SignedClient) -> None:
    root = await _folder(vf, user)
    assert (await user.request("POST", "/folders/work/mkdir", json_body={"path": "a/b", "parents": True})).status == 201
    resp = await user.request("POST", "/folders/work/mkdir", json_body={"path": "a/b"})
    assert resp.status == 409
    assert (await user.request("POST", "/folders/work/mkdir", json_body={"path": "a/b", "exist_ok": True})).status == 201
    data = os.urandom(10 * 1024 * 1024 + 123)
    await _upload(user, "work", "a/b/blob.bin", data)
    assert (root / "a/b/blob.bin").read_bytes() == data

    # zero bytes: the client sends no PATCH at all, the file must still exist
    resp = await user.request("POST", "/folders/work/request-upload", json_body={"path": "empty", "size": 0})
    assert resp.status == 200, resp.body
    assert (root / "empty").is_file() and (root / "empty").stat().st_size == 0

    listing = await _files(user, "work")
    assert set(listing) == {"a", "empty"}
    assert listing["a"]["mode"].startswith("d") and listing["empty"]["mode"].startswith("-")
    assert isinstance(listing["empty"]["mtime"], float)
    inner = await _files(user, "work", "a/b")
    assert inner["blob.bin"]["size"] == len(data)
    info = (await user.request("GET", "/folders/work")).body
    assert info["numFiles"] >= 2 and info["used_bytes"] >= len(data)

    resp = await user.request("POST", "/folders/work/move-file", json_body={"src": "a/b/blob.bin", "dst": "blob.bin"})
    assert resp.status == 200, resp.body
    resp = await user.request("POST", "/folders/work/rename-file",
                              json_body={"target_path": "blob.bin", "new_name": "renamed.bin"})
    assert resp.status == 200, resp.body
    assert (root / "renamed.bin").read_bytes() == data
    resp = await user.request("POST", "/folders/work/rename-file", json_body={"target_path": "renamed.bin",
                                                                              "new_name": "x/y"})
    assert resp.status == 400

    resp = await user.request("DELETE", "/folders/work/delete-files", json_body={"files": ["a"]})
    assert resp.status == 400                        # a directory needs recursive
    resp = await user.request("DELETE", "/folders/work/delete-files", json_body={"files": ["a"], "recursive": True})
    assert resp.status == 200, resp.body
    assert set(await _files(user, "work")) == {"empty", "renamed.bin"}


async def test_downloads_range_and_archive(vf: Any, user: SignedClient) -> None:
    await _folder(vf, user)
    data = os.urandom(3 * 1024 * 1024)
    await _upload(user, "work", "f.bin", data)
    resp = await user.request("POST", "/folders/work/request-download", json_body={"path": "f.bin"})
    assert resp.status == 200, resp.body
    url, token = resp.body["url"], resp.body["token"]
    assert url == vf.storage.client_url + "/download"
    status, headers, body = await http_get(url, params={"token": token})
    assert status == 200 and body == data and int(headers["Content-Length"]) == len(data)
    last_modified = headers["Last-Modified"]
    status, headers, body = await http_get(url, params={"token": token},
                                           headers={"Range": "bytes=1000-", "If-Range": last_modified})
    assert status == 206 and body == data[1000:] and headers["Content-Range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    status, _, body = await http_get(url, params={"token": token},
                                     headers={"Range": "bytes=1000-", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert status == 200 and body == data            # the file changed since: the whole file again
    status, headers, body = await http_get(url, params={"token": token}, method="HEAD")
    assert status == 200 and int(headers["Content-Length"]) == len(data) and body == b""

    await user.request("POST", "/folders/work/mkdir", json_body={"path": "dir/sub", "parents": True})
    await _upload(user, "work", "dir/sub/x.txt", b"hello")
    resp = await user.request("POST", "/folders/work/request-download", json_body={"path": "dir"})
    assert resp.status == 400 and "archive" in resp.body["msg"]
    resp = await user.request("POST", "/folders/work/request-download", json_body={"path": "dir", "archive": True})
    status, _, body = await http_get(resp.body["url"], params={"token": resp.body["token"]})
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.read("sub/x.txt") == b"hello"     # names relative to the archived directory


@pytest.fixture
async def escape(vf: Any, user: SignedClient, tmp_path: Path) -> Path:
    """A vfolder "work" holding a symlink "escape" to a directory outside it, with a secret."""
    root = await _folder(vf, user)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("top secret")
    os.symlink(outside, root / "escape")
    os.symlink(outside / "secret", root / "secret-link")
    return outside


BAD_PATHS = ["../x", "a/../../x", "/etc/passwd", "escape/secret", "escape/new", "secret-link"]


@pytest.mark.parametrize("bad", BAD_PATHS)
async def test_every_file_operation_refuses_escaping_paths(vf: Any, user: SignedClient, escape: Path, bad: str) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/folders/work/files", {"path": bad}),
        ("POST", "/folders/work/mkdir", {"path": bad + "/d" if "escape" in bad else bad, "parents": True}),
        ("POST", "/folders/work/request-upload", {"path": bad, "size": 4}),
        ("POST", "/folders/work/request-download", {"path": bad}),
        ("POST", "/folders/work/request-download", {"path": bad, "archive": True}),
        ("POST", "/folders/work/move-file", {"src": bad, "dst": "moved"}),
        ("POST", "/folders/work/move-file", {"src": "moved-src", "dst": bad}),
        ("POST", "/folders/work/rename-file", {"target_path": bad, "new_name": "renamed"}),
        ("DELETE", "/folders/work/delete-files", {"files": [bad], "recursive": True}),
    ]
    await _upload(user, "work", "moved-src", b"data")
    for method, path, body in calls:
        resp = await user.request(method, path, json_body=body)
        assert 400 <= resp.status < 500, (method, path, body, resp.status, resp.body)
        assert resp.content_type == "application/problem+json"
    assert sorted(p.name for p in escape.iterdir()) == ["secret"]      # nothing created, moved or deleted
    assert (escape / "secret").read_text() == "top secret"


async def test_tokens_cannot_be_widened_or_forged(vf: Any, user: SignedClient, escape: Path) -> None:
    await _upload(user, "work", "a.txt", b"file a")
    await _upload(user, "work", "b.txt", b"file b")
    resp = await user.request("POST", "/folders/work/request-download", json_body={"path": "a.txt"})
    url, token = resp.body["url"], resp.body["token"]
    # the token names one file: extra parameters cannot point it elsewhere
    status, _, body = await http_get(url, params={"token": token, "path": "b.txt", "relpath": "b.txt"})
    assert status == 200 and body == b"file a"
    status, _, _ = await http_get(url, params={"token": token, "dst_dir": "../../"})
    assert status == 400
    # a token with its claims edited (signature kept) is rejected
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["relpath"] = "b.txt"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    status, _, body = await http_get(url, params={"token": f"{head}.{forged_payload}.{sig}"})
    assert status == 401, body
    # ... and so is one signed with another key, or an upload token on the download URL
    status, _, _ = await http_get(url, params={"token": jwt.encode(claims, "a-guessed-key-that-is-long-enough-0123", algorithm="HS256")})
    assert status == 401
    up = await user.request("POST", "/folders/work/request-upload", json_body={"path": "c.txt", "size": 1})
    status, _, _ = await http_get(url, params={"token": up.body["token"]})
    assert status == 401
    # an expired token (the proxy's own codec and secret, issued an hour ago)
    from ai.backend.storage.tokens import TokenCodec

    codec = TokenCodec(vf.storage.token_secret, timedelta(minutes=5))
    vfid = VFolderID.parse(f"user:{USER_UUID}/{claims['vfid'].split('/')[1]}")
    expired, _ = codec.issue_download("volume1", vfid, "a.txt", now=datetime.now(UTC) - timedelta(hours=1))
    status, _, body = await http_get(url, params={"token": expired})
    assert status == 401 and b"expired" in body
    # the same codec with a fresh time works: the refusal above is the expiry, not the codec
    fresh, _ = codec.issue_download("volume1", vfid, "a.txt")
    status, _, body = await http_get(url, params={"token": fresh})
    assert status == 200 and body == b"file a"
    # a (validly signed) token naming a path through the symlink is refused by the proxy too
    sneaky, _ = codec.issue_download("volume1", vfid, "escape/secret")
    status, _, body = await http_get(url, params={"token": sneaky})
    assert 400 <= status < 500 and b"top secret" not in body
    status, _, _ = await http_get(url, params={})
    assert status == 401
