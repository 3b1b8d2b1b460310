"""Quota scopes from the resource policies: an upload that would not fit is refused before a
byte is written (4xx, no partial file), usage reflects the files, limits can be read and set."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from ai.backend.manager.models import user_resource_policies
from manager.helpers import SignedClient
from manager.rows import USER_UUID
from manager.vfolders.vfhelpers import HOST, tus_upload

KiB = 1024


async def _set_policy(vf: Any, **values: Any) -> None:
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.update(user_resource_policies).where(user_resource_policies.c.name == "default")
                           .values(**values))


async def _names(client: SignedClient, folder: str) -> set[str]:
    resp = await client.request("GET", f"/folders/{folder}/files", json_body={"path": "."})
    return {f["filename"] for f in json.loads(resp.body["files"])}


async def test_upload_beyond_the_quota_scope_is_refused_without_a_partial_file(vf: Any, user: SignedClient) -> None:
    await _set_policy(vf, max_quota_scope_size=1024 * KiB)
    resp = await user.request("POST", "/folders", json_body={"name": "q"})
    fid = resp.body["id"]
    quota = (await user.request("GET", "/folders/_/quota", json_body={"folder_host": HOST, "id": fid})).body
    assert quota == {"quota_scope_id": f"user:{USER_UUID}", "used_bytes": 0, "limit_bytes": 1024 * KiB,
                     "size_bytes": 1024 * KiB}
    resp = await user.request("POST", "/folders/q/request-upload", json_body={"path": "a.bin", "size": 600 * KiB})
    await tus_upload(resp.body["url"], resp.body["token"], b"a" * (600 * KiB))

    resp = await user.request("POST", "/folders/q/request-upload", json_body={"path": "b.bin", "size": 600 * KiB})
    assert resp.status == 413, resp.body
    assert resp.content_type == "application/problem+json"
    assert "quota" in resp.body["type"] and f"user:{USER_UUID}" in resp.body["msg"]
    assert await _names(user, "q") == {"a.bin"}                      # no partial or empty b.bin
    scope_dir = vf.storage.volume_path() / USER_UUID.hex
    records = [p.read_text() for p in (scope_dir / ".upload").glob("*.json")]
    assert not [r for r in records if "b.bin" in r]                  # no upload session was opened

    usage = (await user.request("GET", "/folders/_/usage", json_body={"folder_host": HOST, "id": fid})).body
    assert usage["file_count"] == 1 and usage["used_bytes"] >= 600 * KiB
    used = (await user.request("GET", "/folders/_/used-bytes", json_body={"folder_host": HOST, "id": fid})).body
    assert used["used_bytes"] == usage["used_bytes"]
    quota = (await user.request("GET", "/folders/_/quota", json_body={"folder_host": HOST, "id": fid})).body
    assert quota["used_bytes"] >= 600 * KiB
    info = (await user.request("GET", "/folders/q")).body
    assert info["numFiles"] == 1 and info["used_bytes"] == usage["used_bytes"]

    # the quota scope covers every vfolder of the owner on the volume
    await user.request("POST", "/folders", json_body={"name": "q2"})
    resp = await user.request("POST", "/folders/q2/request-upload", json_body={"path": "c.bin", "size": 600 * KiB})
    assert resp.status == 413
    assert await _names(user, "q2") == set()
    # after deleting a file, it fits
    await user.request("DELETE", "/folders/q/delete-files", json_body={"files": ["a.bin"]})
    resp = await user.request("POST", "/folders/q2/request-upload", json_body={"path": "c.bin", "size": 600 * KiB})
    assert resp.status == 200, resp.body


async def test_setting_the_quota_within_the_policy(vf: Any, user: SignedClient, admin: SignedClient) -> None:
    await _set_policy(vf, max_quota_scope_size=1024 * KiB)
    fid = (await user.request("POST", "/folders", json_body={"name": "q"})).body["id"]
    body = {"folder_host": HOST, "id": fid, "input": {"size_bytes": 10 * 1024 * KiB}}
    resp = await user.request("POST", "/folders/_/quota", json_body=body)
    assert resp.status == 403 and "maximum" in resp.body["msg"]
    resp = await user.request("POST", "/folders/_/quota", json_body={**body, "input": {"size_bytes": 0}})
    assert resp.status == 403                                         # removing the limit is for admins
    resp = await user.request("POST", "/folders/_/quota", json_body={**body, "input": {"size_bytes": 100 * KiB}})
    assert resp.status == 200 and resp.body["size_bytes"] == 100 * KiB
    resp = await user.request("POST", "/folders/q/request-upload", json_body={"path": "a", "size": 200 * KiB})
    assert resp.status == 413
    resp = await user.request("POST", "/folders/_/quota", json_body={**body, "folder_host": "local:volume2"})
    assert resp.status == 400
    # a superadmin's own vfolder: any limit
    afid = (await admin.request("POST", "/folders", json_body={"name": "aq"})).body["id"]
    resp = await admin.request("POST", "/folders/_/quota",
                               json_body={"folder_host": HOST, "id": afid, "input": {"size_bytes": 10 * 1024 * KiB}})
    assert resp.status == 200 and resp.body["size_bytes"] == 10 * 1024 * KiB


async def test_vfolder_size_cap_and_count_limit(vf: Any, user: SignedClient) -> None:
    resp = await user.request("POST", "/folders", json_body={"name": "capped", "quota": "64k"})
    assert resp.status == 201 and resp.body["max_size"] == 64 * KiB
    resp = await user.request("POST", "/folders/capped/request-upload", json_body={"path": "a", "size": 65 * KiB})
    assert resp.status == 413 and "capped" in resp.body["msg"]
    resp = await user.request("POST", "/folders/capped/request-upload", json_body={"path": "a", "size": 60 * KiB})
    assert resp.status == 200
    resp = await user.request("POST", "/folders", json_body={"name": "bad", "quota": "lots"})
    assert resp.status == 400
    await _set_policy(vf, max_vfolder_count=2)
    assert (await user.request("POST", "/folders", json_body={"name": "second"})).status == 201
    resp = await user.request("POST", "/folders", json_body={"name": "third"})
    assert resp.status == 413 and "max_vfolder_count" in resp.body["msg"]
