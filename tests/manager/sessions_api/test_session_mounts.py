"""POST /session with vfolder mounts against a real manager and storage proxy: the session
and every kernel row carry the resolved mounts; a missing, foreign or busy vfolder is a 4xx
and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from manager.helpers import SignedClient
from manager.sessions_api.sesshelpers import (
    body,
    count_rows,
    kernel_rows,
    register_images,
    session_rows,
)


async def _mkfolder(client: SignedClient, name: str, **extra: Any) -> str:
    resp = await client.request("POST", "/folders", json_body={"name": name, **extra})
    assert resp.status == 201, resp.body
    return str(uuid.UUID(resp.body["id"]))


async def test_mounts_are_resolved_into_every_kernel(vf: Any, user: SignedClient, domain_admin: SignedClient) -> None:
    await register_images(vf.manager.db)
    data_id = await _mkfolder(user, "data")
    await _mkfolder(user, "models")
    await _mkfolder(user, ".local")                       # dot-folders mount automatically
    await _mkfolder(domain_admin, "team", group="default", permission="ro")
    resp = await user.request("POST", "/session", json_body=body(
        clusterSize=2, config_mounts=["data", "team", "models:/home/work/m/models"],
        config_mount_map={"data": "d"}))
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    (row,) = await session_rows(vf.manager.db)
    mounts = {m["name"]: m for m in row.vfolder_mounts}
    assert set(mounts) == {"data", "team", "models", ".local"}
    assert mounts["data"]["kernel_path"] == "/home/work/d" and mounts["data"]["permission"] == "rw"
    assert mounts["data"]["vfolder_id"] == data_id
    assert mounts["models"]["kernel_path"] == "/home/work/m/models"
    assert mounts["team"]["kernel_path"] == "/home/work/team" and mounts["team"]["permission"] == "ro"
    assert mounts[".local"]["kernel_path"] == "/home/work/.local"
    volume = str(vf.storage.volume_path("volume1"))
    for m in mounts.values():
        assert m["host_path"].startswith(volume) and uuid.UUID(m["vfolder_id"]).hex[4:] in m["host_path"]
    ks = await kernel_rows(vf.manager.db, sid)
    assert len(ks) == 2
    for k in ks:
        assert k.vfolder_mounts == row.vfolder_mounts
        assert sorted(k.mounts) == sorted(mounts)
        assert k.mount_map["data"] == "/home/work/d"
    # a vfolder mounted by a live session cannot be deleted under it
    resp = await user.request("DELETE", "/folders/data")
    assert resp.status == 409, resp.body


async def test_bad_mounts_are_4xx_and_write_nothing(vf: Any, user: SignedClient, admin: SignedClient) -> None:
    await register_images(vf.manager.db)
    await _mkfolder(user, "mine")
    await _mkfolder(admin, "admins-private")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"config_mounts": ["nonexistent"]}, 404, "nonexistent"),
        ({"config_mounts": ["admins-private"]}, 404, "admins-private"),
        ({"config_mounts": ["mine"], "config_mount_map": {"mine": "/etc"}}, 400, "mount_map"),
        ({"config_mounts": ["mine"], "config_mount_map": {"mine": "../../x"}}, 400, "mount_map"),
        ({"config_mounts": ["mine", "mine"]}, 400, "twice"),
    ]
    for changes, status, needle in cases:
        resp = await user.request("POST", "/session", json_body=body(**changes))
        assert resp.status == status, (changes, resp.body)
        assert resp.content_type == "application/problem+json"
        assert needle in resp.body["msg"], resp.body
    assert await count_rows(vf.manager.db) == (0, 0)
