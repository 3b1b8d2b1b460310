"""Session files (upload, list, download) and logs against a real container."""

from __future__ import annotations

import io
import json
import os
import tarfile
from typing import Any

import aiodocker
import aiohttp

from manager.helpers import ADMIN, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import (
    console_text,
    download,
    execute_loop,
    signed_headers,
    upload,
)


def _untar(blob: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
    return out


async def _ls(client: SignedClient, session: str, path: str | None = None) -> Any:
    resp = await client.request("GET", f"/session/{session}/files", json_body={"path": path} if path else None)
    return resp


async def test_upload_list_download_round_trip(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    blob = os.urandom(700_000)
    text = "héllo wörld\n".encode()
    status, _ = await upload(user, sess.name, [("data.bin", blob), ("src/pkg/mod.py", text),
                                              ("/home/work/abs.txt", b"absolute inside\n")])
    assert status == 204
    resp = await _ls(user, sess.name)
    assert resp.status == 200 and resp.body["errors"] == "" and resp.body["abspath"] == "/home/work"
    listing = {f["filename"]: f for f in json.loads(resp.body["files"])}
    assert {"data.bin", "src", "abs.txt"} <= set(listing)
    assert listing["data.bin"]["size"] == len(blob) and listing["data.bin"]["mode"].startswith("-")
    assert listing["src"]["mode"].startswith("d") and isinstance(listing["data.bin"]["mtime"], float)
    resp = await _ls(user, sess.name, "src/pkg")
    assert [f["filename"] for f in json.loads(resp.body["files"])] == ["mod.py"]
    # the uploaded files are what the code in the session sees
    results = await execute_loop(user, sess.name, "print(open('src/pkg/mod.py', encoding='utf-8').read(), end='')")
    assert console_text(results) == text.decode()
    status, parts = await download(user, sess.name, ["data.bin", "/home/work/src/pkg/mod.py", "src"])
    assert status == 200 and len(parts) == 3
    assert _untar(parts[0]) == {"data.bin": blob}
    assert _untar(parts[1]) == {"mod.py": text}
    assert _untar(parts[2]) == {"src/pkg/mod.py": text}


async def test_path_escapes_are_refused_and_write_nothing(session_factory: SessionFactory,
                                                          user: SignedClient) -> None:
    sess = await session_factory()
    for bad in ["../evil.txt", "/etc/evil.txt", "/home/work/../evil.txt", "a/../../evil.txt", "/home/workx/evil"]:
        status, body = await upload(user, sess.name, [("fine.txt", b"ok"), (bad, b"evil")])
        assert status == 400, (bad, status, body)
        assert body["type"].endswith("/invalid-api-params") and "evil" in body["msg"]
    listing = json.loads((await _ls(user, sess.name)).body["files"])
    assert listing == []    # not even the valid part of those requests was written
    check = await execute_loop(user, sess.name, "import os\nprint(os.path.exists('/etc/evil.txt'), "
                                                "os.path.exists('/home/evil.txt'))")
    assert console_text(check) == "False False\n"
    for bad in ["../../etc/passwd", "/etc/passwd", "/home/work/../../etc/shadow"]:
        status, body = await download(user, sess.name, [bad])
        assert status == 400, (bad, status, body)
        resp = await _ls(user, sess.name, bad)
        assert resp.status == 400 and resp.content_type == "application/problem+json"
    # a symlink planted by code in the session does not lead out either
    await execute_loop(user, sess.name, "import os\nos.symlink('/etc', 'etc-link')")
    status, body = await download(user, sess.name, ["etc-link/passwd"])
    assert status == 400 and "outside" in body["msg"]
    status, body = await download(user, sess.name, ["no-such-file"])
    assert status == 404


async def test_upload_limits(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory(backend="dummy")
    status, body = await upload(user, sess.name, [("big.bin", b"x" * (2**20 + 1))])
    assert status == 400 and "big.bin" in body["msg"]
    status, body = await upload(user, sess.name, [(f"f{i}.txt", b"x") for i in range(21)])
    assert status == 400 and "too many" in body["msg"]
    with aiohttp.MultipartWriter("form-data") as mpw:    # a multipart body without any `src` part
        mpw.append("just a field").set_content_disposition("form-data", name="comment")
    path = f"/session/{sess.name}/upload"
    async with user.session.post(user.base_url + path, data=mpw,
                                 headers=signed_headers(user, "POST", path, content_type="multipart/form-data")) as r:
        assert r.status == 400 and "src" in (await r.json(content_type=None))["msg"]
    status, body = await download(user, sess.name, [f"f{i}" for i in range(6)])
    assert status == 400 and "at most 5" in body["msg"]


async def test_logs_are_the_container_log(session_factory: SessionFactory, user: SignedClient) -> None:
    sess = await session_factory()
    resp = await user.request("GET", f"/session/{sess.name}/logs")
    assert resp.status == 200 and resp.content_type == "application/json"
    docker = aiodocker.Docker()
    try:
        lines = await docker.containers.container(sess.creation_info["container_id"]).log(stdout=True, stderr=True)
    finally:
        await docker.close()
    assert resp.body == {"result": {"logs": "".join(lines)}}
    assert resp.body["result"]["logs"]   # the runner's startup lines at least


async def test_file_ops_on_another_users_session_are_404(session_factory: SessionFactory, user: SignedClient) -> None:
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    status, _ = await upload(user, theirs.name, [("x.txt", b"x")])
    assert status == 404
    status, _ = await download(user, theirs.name, ["x.txt"])
    assert status == 404
    for path in (f"/session/{theirs.name}/files", f"/session/{theirs.name}/logs", f"/session/{theirs.id}/logs"):
        resp = await user.request("GET", path)
        assert resp.status == 404, path
