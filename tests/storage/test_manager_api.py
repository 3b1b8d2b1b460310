"""The manager-facing API through the typed client (common.storage_proxy_client), on a real
proxy with real etcd registration."""

from __future__ import annotations

import os
import uuid
from typing import Any

import aiohttp
import pytest

from ai.backend.common.storage_proxy_client import (
    StorageProxyError,
    StorageProxyManagerClient,
    StorageProxyPool,
    load_storage_proxies,
)
from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID

from .conftest import RunningProxy

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60)


def user_scope() -> QuotaScopeID:
    return QuotaScopeID(QuotaScopeType.USER, uuid.uuid4())


async def test_registers_in_etcd(proxy: RunningProxy, etcd: Any) -> None:
    proxies, default_host = await load_storage_proxies(etcd)
    info = proxies[proxy.name]
    assert info.client_api == proxy.client_url
    assert info.manager_api == proxy.manager_url
    assert info.secret == proxy.manager_secret
    assert info.ssl_verify is False
    assert default_host == f"{proxy.name}:local"

    pool = StorageProxyPool(proxies)
    try:
        client, volume = pool.for_host(f"{proxy.name}:second")
        assert volume == "second"
        assert (await client.status())["proxy_name"] == proxy.name
        with pytest.raises(StorageProxyError) as exc:
            pool.for_host("nobody:local")
        assert exc.value.status == 404
    finally:
        await pool.close()


async def test_auth_and_problem_json(proxy: RunningProxy) -> None:
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as s:
        for headers in ({}, {"X-BackendAI-Storage-Auth-Token": "wrong"}):
            async with s.get(proxy.manager_url + "/volumes", headers=headers) as r:
                assert r.status == 401
                assert r.content_type == "application/problem+json"
                body = await r.json(content_type=None)
                assert body["type"] == "https://api.backend.ai/probs/storage/auth-failed"
        auth = {"X-BackendAI-Storage-Auth-Token": proxy.manager_secret}
        async with s.get(proxy.manager_url + "/no-such-thing", headers=auth) as r:
            assert r.status == 404 and r.content_type == "application/problem+json"
        async with s.get(proxy.manager_url + "/folder/create", headers=auth) as r:
            assert r.status == 405 and r.content_type == "application/problem+json"
        async with s.post(proxy.manager_url + "/folder/create", headers=auth, data=b"{not json") as r:
            assert r.status == 400
            assert "not valid JSON" in (await r.json(content_type=None))["msg"]
        async with s.post(proxy.manager_url + "/folder/create", headers=auth,
                          json={"volume": "local", "vfid": "nobody:123/xyz"}) as r:
            body = await r.json(content_type=None)
            assert r.status == 400 and "vfid" in body["data"]["errors"]
    bad = StorageProxyManagerClient(proxy.manager_url, "not-the-secret")
    try:
        with pytest.raises(StorageProxyError) as exc:
            await bad.list_volumes()
        assert exc.value.status == 401 and exc.value.slug == "storage/auth-failed"
    finally:
        await bad.close()


async def test_volumes_and_unknown_volume(proxy: RunningProxy) -> None:
    vols = {v.name: v for v in await proxy.client.list_volumes()}
    assert set(vols) == {"local", "second"}
    assert vols["local"].backend == "vfs"
    assert vols["local"].capabilities == {"vfolder", "quota"}
    fs = await proxy.client.get_fs_usage("local")
    assert fs.capacity_bytes > 0
    with pytest.raises(StorageProxyError) as exc:
        await proxy.client.create_folder("nope", VFolderID(user_scope(), uuid.uuid4()))
    assert exc.value.status == 404 and exc.value.slug == "storage/volume-not-found"


async def test_quota_scopes(proxy: RunningProxy) -> None:
    c = proxy.client
    qsid = QuotaScopeID(QuotaScopeType.PROJECT, uuid.uuid4())
    with pytest.raises(StorageProxyError) as exc:
        await c.get_quota_scope("local", qsid)
    assert exc.value.status == 404
    await c.create_quota_scope("local", qsid, 10 * 2**20)
    with pytest.raises(StorageProxyError) as exc:
        await c.create_quota_scope("local", qsid)
    assert exc.value.status == 409
    usage = await c.get_quota_scope("local", qsid)
    assert (usage.used_bytes, usage.limit_bytes) == (0, 10 * 2**20)
    await c.update_quota_scope("local", qsid, None)
    assert (await c.get_quota_scope("local", qsid)).limit_bytes is None
    vfid = VFolderID(qsid, uuid.uuid4())
    await c.create_folder("local", vfid)
    with pytest.raises(StorageProxyError) as exc:
        await c.delete_quota_scope("local", qsid)
    assert exc.value.status == 409
    await c.delete_folder("local", vfid)
    await c.delete_quota_scope("local", qsid)
    with pytest.raises(StorageProxyError):
        await c.get_quota_scope("local", qsid)


async def test_folder_and_file_operations(proxy: RunningProxy) -> None:
    c = proxy.client
    vfid = VFolderID(user_scope(), uuid.uuid4())
    path = await c.create_folder("local", vfid)
    assert path.startswith(str(proxy.volume_path("local")))
    assert path.endswith(vfid.folder_id.hex[4:])
    assert await c.get_mount_path("local", vfid) == path
    with pytest.raises(StorageProxyError) as exc:
        await c.create_folder("local", vfid)
    assert exc.value.status == 409

    await c.mkdir("local", vfid, "a/b", parents=True)
    with pytest.raises(StorageProxyError) as exc:
        await c.mkdir("local", vfid, "a/b")
    assert exc.value.status == 409
    await c.mkdir("local", vfid, "a/b", exist_ok=True)
    with open(os.path.join(path, "a", "x.txt"), "wb") as f:
        f.write(b"12345")
    listing = await c.list_files("local", vfid, "a")
    assert [(e.filename, e.type, e.size) for e in listing.items] == [("b", "dir", listing.items[0].size),
                                                                     ("x.txt", "file", 5)]
    assert (await c.stat("local", vfid, "a/x.txt")).size == 5
    await c.rename_file("local", vfid, "a/x.txt", "y.txt")
    await c.move_file("local", vfid, "a/y.txt", "a/b")
    assert [e.filename for e in (await c.list_files("local", vfid, "a/b")).items] == ["y.txt"]
    usage = await c.get_usage("local", vfid)
    assert (usage.file_count, usage.used_bytes) == (3, 5)
    assert await c.get_used_bytes("local", vfid) == 5

    await c.put_metadata("local", vfid, '{"name": "data"}')
    assert await c.get_metadata("local", vfid) == '{"name": "data"}'

    clone = VFolderID(user_scope(), uuid.uuid4())
    cpath = await c.clone_folder("local", vfid, "second", clone)
    assert cpath.startswith(str(proxy.volume_path("second")))
    assert [e.filename for e in (await c.list_files("second", clone, "a/b")).items] == ["y.txt"]

    with pytest.raises(StorageProxyError) as exc:
        await c.delete_files("local", vfid, ["a"])
    assert exc.value.status == 400 and "recursive" in str(exc.value.msg)
    await c.delete_files("local", vfid, ["a"], recursive=True)
    assert (await c.list_files("local", vfid)).items == []
    await c.delete_folder("local", vfid)
    with pytest.raises(StorageProxyError) as exc:
        await c.list_files("local", vfid)
    assert exc.value.status == 404 and exc.value.slug == "storage/vfolder-not-found"


async def test_file_operations_refuse_escapes(proxy: RunningProxy, tmp_path: Any) -> None:
    c = proxy.client
    vfid = VFolderID(user_scope(), uuid.uuid4())
    path = await c.create_folder("local", vfid)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, os.path.join(path, "link"))
    for bad in ("../x", "/etc", "link/secret.txt", "link", "a/../../b"):
        for call in (
            c.mkdir("local", vfid, bad, parents=True, exist_ok=True),
            c.list_files("local", vfid, bad),
            c.rename_file("local", vfid, bad, "n"),
            c.move_file("local", vfid, bad, "n"),
            c.delete_files("local", vfid, [bad], recursive=True),
            c.issue_download("local", vfid, bad),
            c.issue_upload("local", vfid, bad + "/f" if bad != "link/secret.txt" else bad, 3),
        ):
            with pytest.raises(StorageProxyError) as exc:
                await call
            assert exc.value.status == 400, (bad, exc.value)
            assert exc.value.slug == "storage/invalid-path"
    assert sorted(os.listdir(outside)) == ["secret.txt"]
