"""resolve_session_mounts(): the mount list the session lifecycle gives every kernel, resolved
against the real database and storage proxy; and its locking against concurrent deletion."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.common.status import SessionStatus
from ai.backend.manager.context import RootContext, root_context
from ai.backend.manager.errors import Forbidden, InvalidAPIParameters, VFolderBusy, VFolderNotFound
from ai.backend.manager.models import domains, groups, keypair_resource_policies, sessions, vfolders
from ai.backend.manager.services.storage_proxies import close_storage_proxies
from ai.backend.manager.services.vfolder_mounts import resolve_session_mounts
from manager.helpers import SignedClient
from manager.rows import DEFAULT_GROUP, USER_UUID
from manager.vfolders.vfhelpers import HOST, add_user, tus_upload

USER_AK = "AKIANABBDUSEREXAMPLE"


@pytest.fixture
async def ctx(vf: Any) -> AsyncIterator[RootContext]:
    async with root_context(vf.manager.local_config) as root:
        yield root
        await close_storage_proxies(root)


async def _resolve(ctx: RootContext, requested: list[str], mount_map: dict[str, str] | None = None, *,
                   user: uuid.UUID = USER_UUID, access_key: str = USER_AK,
                   group: uuid.UUID = DEFAULT_GROUP) -> list[dict[str, Any]]:
    async with ctx.db.begin() as conn:
        mounts = await resolve_session_mounts(conn, ctx, user_uuid=user, access_key=access_key,
                                              domain_name="default", group_id=group, requested=requested,
                                              mount_map=mount_map or {})
    return [dict(m) for m in mounts]


async def _mkfolder(client: SignedClient, name: str, **extra: Any) -> str:
    resp = await client.request("POST", "/folders", json_body={"name": name, **extra})
    assert resp.status == 201, resp.body
    return str(uuid.UUID(resp.body["id"]))


async def test_requested_mounts_paths_and_permissions(vf: Any, ctx: RootContext, user: SignedClient,
                                                      domain_admin: SignedClient) -> None:
    data_id = await _mkfolder(user, "data")
    await _mkfolder(user, "models")
    await _mkfolder(user, "scratch")
    await _mkfolder(domain_admin, "team", group="default", permission="ro")
    mounts = await _resolve(ctx, ["data", "models", "team"],
                            {"models": "/home/work/m/models", "scratch": "tmp/s"})
    by_name = {m["name"]: m for m in mounts}
    assert set(by_name) == {"data", "models", "team", "scratch"}    # mount_map keys are mounted too
    assert by_name["data"]["kernel_path"] == "/home/work/data" and by_name["data"]["permission"] == "rw"
    assert by_name["data"]["vfolder_id"] == data_id
    assert by_name["models"]["kernel_path"] == "/home/work/m/models"
    assert by_name["scratch"]["kernel_path"] == "/home/work/tmp/s"
    assert by_name["team"]["permission"] == "ro"                     # the project folder's innate permission
    for m in mounts:
        assert Path(m["host_path"]).is_dir()
        assert m["host_path"].startswith(str(vf.storage.volume_path()))
    h = uuid.UUID(data_id).hex
    assert by_name["data"]["host_path"] == str(vf.storage.volume_path() / USER_UUID.hex / h[:2] / h[2:4] / h[4:])
    # by id as well
    [m] = await _resolve(ctx, [data_id])
    assert m["name"] == "data"


async def test_shares_mount_with_their_permission(vf: Any, ctx: RootContext, user: SignedClient) -> None:
    kp, uid = await add_user(vf.manager.db, "reader")
    reader = SignedClient(vf.manager.url, kp)
    try:
        await _mkfolder(user, "shared")
        await user.request("POST", "/folders/shared/invite", json_body={"perm": "ro", "user_ids": ["reader@example.com"]})
        [inv] = (await reader.request("GET", "/folders/invitations/list")).body["invitations"]
        await reader.request("POST", "/folders/invitations/accept", json_body={"inv_id": inv["id"]})
        await _mkfolder(user, ".local")                          # the owner's dot folder: not the reader's
        [m] = await _resolve(ctx, ["shared"], user=uid, access_key=kp[0])
        assert m["permission"] == "ro" and m["kernel_path"] == "/home/work/shared"
        with pytest.raises(VFolderNotFound, match="'.local'"):
            await _resolve(ctx, [".local"], user=uid, access_key=kp[0])
    finally:
        await reader.close()


async def test_dot_folders_are_auto_mounted_and_ssh_is_honoured(vf: Any, ctx: RootContext, user: SignedClient) -> None:
    await _mkfolder(user, ".local")
    await _mkfolder(user, ".ssh")
    await _mkfolder(user, "data")
    mounts = {m["name"]: m for m in await _resolve(ctx, ["data"])}
    assert set(mounts) == {"data", ".local", ".ssh"}
    assert mounts[".local"]["kernel_path"] == "/home/work/.local" and mounts[".local"]["permission"] == "rw"
    assert mounts[".ssh"]["kernel_path"] == "/home/work/.ssh" and mounts[".ssh"]["permission"] == "rw"
    # the user's own authorized_keys is used as is
    resp = await user.request("POST", "/folders/.ssh/request-upload", json_body={"path": "authorized_keys", "size": 20})
    await tus_upload(resp.body["url"], resp.body["token"], b"ssh-ed25519 AAAA k\n\n")
    ssh = {m["name"]: m for m in await _resolve(ctx, [])}[".ssh"]
    assert (Path(ssh["host_path"]) / "authorized_keys").read_bytes() == b"ssh-ed25519 AAAA k\n\n"
    with pytest.raises(InvalidAPIParameters, match=r"\.ssh vfolder always mounts"):
        await _resolve(ctx, [".ssh"], {".ssh": "/home/work/keys"})
    # authorized_keys must be a regular file (here: a symlink out of the vfolder)
    os.unlink(Path(ssh["host_path"]) / "authorized_keys")
    os.symlink("/etc/passwd", Path(ssh["host_path"]) / "authorized_keys")
    with pytest.raises(InvalidAPIParameters, match="authorized_keys"):
        await _resolve(ctx, [])


@pytest.mark.parametrize(("requested", "mount_map", "error", "match"), [
    (["nope"], {}, VFolderNotFound, "'nope'"),
    (["data"], {"data": "../etc"}, InvalidAPIParameters, r"mount_map\['data'\].*'\.\.'"),
    (["data"], {"data": "/etc/data"}, InvalidAPIParameters, "not under /home/work"),
    (["data"], {"data": "/home/work"}, InvalidAPIParameters, "not under /home/work"),
    (["data", "other"], {"other": "data"}, InvalidAPIParameters, "both mount at /home/work/data"),
    (["data", "data"], {}, InvalidAPIParameters, "listed twice"),
])
async def test_bad_requests_name_the_culprit(vf: Any, ctx: RootContext, user: SignedClient, requested: list[str],
                                             mount_map: dict[str, str], error: type[Exception], match: str) -> None:
    await _mkfolder(user, "data")
    await _mkfolder(user, "other")
    with pytest.raises(error, match=match) as exc:
        await _resolve(ctx, requested, mount_map)
    assert 400 <= exc.value.status_code < 500  # type: ignore[attr-defined]


async def test_host_permission_project_scope_and_status(vf: Any, ctx: RootContext, user: SignedClient,
                                                        domain_admin: SignedClient) -> None:
    await _mkfolder(user, "data")
    other_group = uuid.uuid4()
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.insert(groups).values(id=other_group, name="other", domain_name="default",
                                                    allowed_vfolder_hosts={HOST: ["mount-in-session"]}))
    # a project vfolder of another project is not mountable in this session's project
    await _mkfolder(domain_admin, "default-team", group="default")
    with pytest.raises(VFolderNotFound, match="default-team"):
        await _resolve(ctx, ["default-team"], group=other_group)
    # without mount-in-session anywhere: refused, naming the vfolder and the host
    no_mount = {HOST: ["create-vfolder", "upload-file"]}
    async with vf.manager.db.begin() as conn:
        for table in (domains, groups, keypair_resource_policies):
            await conn.execute(sa.update(table).values(allowed_vfolder_hosts=no_mount))
    with pytest.raises(Forbidden, match="'data'.*mount-in-session"):
        await _resolve(ctx, ["data"])
    async with vf.manager.db.begin() as conn:    # the session's project alone may grant it
        await conn.execute(sa.update(groups).where(groups.c.id == DEFAULT_GROUP)
                           .values(allowed_vfolder_hosts={HOST: ["mount-in-session"]}))
    assert [m["name"] for m in await _resolve(ctx, ["data"])] == ["data"]
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.update(vfolders).where(vfolders.c.name == "data").values(status="delete-ongoing"))
    with pytest.raises(VFolderBusy, match="'data'"):
        await _resolve(ctx, ["data"])


async def test_deletion_waits_for_a_session_being_created_then_refuses(vf: Any, ctx: RootContext,
                                                                       user: SignedClient) -> None:
    """The vfolder rows stay locked FOR SHARE until the session's transaction commits."""
    await _mkfolder(user, "busy")
    sid = uuid.uuid4()
    async with ctx.db.begin() as conn:
        mounts = await resolve_session_mounts(conn, ctx, user_uuid=USER_UUID, access_key=USER_AK,
                                              domain_name="default", group_id=DEFAULT_GROUP,
                                              requested=["busy"], mount_map={})
        deletion = asyncio.create_task(user.request("DELETE", "/folders/busy"))
        await asyncio.sleep(1.0)
        assert not deletion.done()                   # blocked on the row lock
        await conn.execute(sa.insert(sessions).values(
            id=sid, name="being-created", domain_name="default", group_id=DEFAULT_GROUP, user_uuid=USER_UUID,
            access_key=USER_AK, status=SessionStatus.PENDING, status_changed=datetime.now(UTC),
            vfolder_mounts=[dict(m) for m in mounts]))
    resp = await asyncio.wait_for(deletion, 30)
    assert resp.status == 409 and "being-created" in resp.body["msg"]
