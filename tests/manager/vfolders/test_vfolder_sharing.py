"""Who sees what: isolation between users, invitations, read-only shares that cannot write,
project shares, leaving, the shared list, cloning and changing the owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from manager.helpers import SignedClient
from manager.rows import USER_UUID
from manager.vfolders.vfhelpers import add_user, http_get, tus_upload


@pytest.fixture
async def other(vf: Any) -> AsyncIterator[tuple[SignedClient, Any]]:
    kp, uid = await add_user(vf.manager.db, "other")
    client = SignedClient(vf.manager.url, kp)
    yield client, uid
    await client.close()


async def _upload(client: SignedClient, folder: str, path: str, data: bytes) -> int:
    resp = await client.request("POST", f"/folders/{folder}/request-upload", json_body={"path": path, "size": len(data)})
    if resp.status != 200:
        return resp.status
    await tus_upload(resp.body["url"], resp.body["token"], data)
    return 200


async def _download(client: SignedClient, folder: str, path: str) -> bytes:
    resp = await client.request("POST", f"/folders/{folder}/request-download", json_body={"path": path})
    assert resp.status == 200, resp.body
    status, _, body = await http_get(resp.body["url"], params={"token": resp.body["token"]})
    assert status == 200
    return body


async def test_users_cannot_see_or_touch_each_others_vfolders(vf: Any, user: SignedClient, other: Any) -> None:
    client2, _ = other
    resp = await user.request("POST", "/folders", json_body={"name": "private"})
    folder_id = resp.body["id"]
    assert await _upload(user, "private", "p.txt", b"mine") == 200
    assert (await client2.request("GET", "/folders")).body == []
    for method, path, body in [
        ("GET", "/folders/private", None), ("GET", f"/folders/{folder_id}", None),
        ("GET", "/folders/private/files", {"path": "."}),
        ("POST", "/folders/private/request-download", {"path": "p.txt"}),
        ("POST", "/folders/private/request-upload", {"path": "x", "size": 1}),
        ("POST", "/folders/private/mkdir", {"path": "x"}),
        ("DELETE", "/folders/private/delete-files", {"files": ["p.txt"]}),
        ("POST", "/folders/private/rename", {"new_name": "stolen"}),
        ("POST", "/folders/private/invite", {"perm": "rw", "user_ids": ["other@example.com"]}),
        ("DELETE", "/folders/private", None), ("DELETE", "/folders", {"id": folder_id}),
        ("GET", "/folders/_/usage", {"folder_host": "local:volume1", "id": folder_id}),
        ("GET", "/folders/_/quota", {"folder_host": "local:volume1", "id": folder_id}),
    ]:
        resp = await client2.request(method, path, json_body=body)
        assert resp.status == 404, (method, path, resp.status, resp.body)
    body = await client2.gql("query { vfolder_list(limit: 10, offset: 0) { items { name } total_count } }")
    assert body["data"]["vfolder_list"]["total_count"] == 0
    assert await _download(user, "private", "p.txt") == b"mine"


async def test_invitation_with_read_only_permission(vf: Any, user: SignedClient, other: Any) -> None:
    client2, uid2 = other
    await user.request("POST", "/folders", json_body={"name": "shared"})
    assert await _upload(user, "shared", "data.txt", b"shared data") == 200
    resp = await user.request("POST", "/folders/shared/invite",
                              json_body={"perm": "rw", "user_ids": ["other@example.com"]})
    assert resp.status == 201 and resp.body == {"invited_ids": ["other@example.com"]}
    resp = await user.request("POST", "/folders/shared/invite", json_body={"perm": "rw", "emails": ["nobody@x.y"]})
    assert resp.status == 404 and "nobody@x.y" in resp.body["msg"]
    sent = (await user.request("GET", "/folders/invitations/list-sent")).body["invitations"]
    assert [(i["invitee"], i["perm"]) for i in sent] == [("other@example.com", "rw")]
    inv_id = sent[0]["id"]
    resp = await user.request("POST", f"/folders/invitations/update/{inv_id}", json_body={"perm": "ro"})
    assert resp.status == 200, resp.body
    assert (await client2.request("POST", f"/folders/invitations/update/{inv_id}", json_body={"perm": "rw"})).status == 404
    received = (await client2.request("GET", "/folders/invitations/list")).body["invitations"]
    assert [(i["inviter"], i["vfolder_name"], i["perm"]) for i in received] == [("user@lablup.com", "shared", "ro")]
    resp = await client2.request("POST", "/folders/invitations/accept", json_body={"inv_id": inv_id})
    assert resp.status == 200, resp.body
    assert (await client2.request("POST", "/folders/invitations/accept", json_body={"inv_id": inv_id})).status == 404

    [seen] = (await client2.request("GET", "/folders")).body
    assert seen["name"] == "shared" and seen["permission"] == "ro" and seen["is_owner"] is False
    assert await _download(client2, "shared", "data.txt") == b"shared data"
    # a read-only share cannot write, in any way
    assert await _upload(client2, "shared", "new.txt", b"x") == 403
    for method, path, body in [
        ("POST", "/folders/shared/mkdir", {"path": "d"}),
        ("POST", "/folders/shared/rename-file", {"target_path": "data.txt", "new_name": "y"}),
        ("POST", "/folders/shared/move-file", {"src": "data.txt", "dst": "y"}),
        ("DELETE", "/folders/shared/delete-files", {"files": ["data.txt"]}),
        ("POST", "/folders/shared/rename", {"new_name": "mine-now"}),
        ("POST", "/folders/shared/update-options", {"permission": "rw"}),
        ("DELETE", "/folders/shared", None),
    ]:
        resp = await client2.request(method, path, json_body=body)
        assert resp.status == 403, (method, path, resp.status, resp.body)
    assert await _download(user, "shared", "data.txt") == b"shared data"

    # the owner upgrades the share; the invitee may now write; then revokes it
    shared = (await user.request("GET", "/folders/_/shared")).body["shared"]
    assert [(s["vfolder_name"], s["shared_to"]["email"], s["perm"]) for s in shared] == \
        [("shared", "other@example.com", "ro")]
    vfid = shared[0]["vfolder_id"]
    resp = await client2.request("POST", "/folders/_/shared", json_body={"vfolder": vfid, "user": str(uid2), "perm": "rw"})
    assert resp.status == 404                   # not theirs to manage
    resp = await user.request("POST", "/folders/_/shared", json_body={"vfolder": vfid, "user": str(uid2), "perm": "rw"})
    assert resp.status == 200, resp.body
    assert await _upload(client2, "shared", "new.txt", b"x") == 200
    # the invitee leaves
    resp = await client2.request("POST", "/folders/shared/leave", json_body={})
    assert resp.status == 200, resp.body
    assert (await client2.request("GET", "/folders/shared")).status == 404
    resp = await user.request("POST", "/folders/shared/leave", json_body={})
    assert resp.status == 400                   # owners delete, they do not leave


async def test_invitation_reject_cancel_and_dot_folders(vf: Any, user: SignedClient, other: Any) -> None:
    client2, _ = other
    await user.request("POST", "/folders", json_body={"name": "f"})
    await user.request("POST", "/folders/f/invite", json_body={"perm": "ro", "user_ids": ["other@example.com"]})
    [inv] = (await client2.request("GET", "/folders/invitations/list")).body["invitations"]
    resp = await client2.request("DELETE", "/folders/invitations/delete", json_body={"inv_id": inv["id"]})
    assert resp.status == 200
    assert (await client2.request("GET", "/folders/invitations/list")).body["invitations"] == []
    await user.request("POST", "/folders/f/invite", json_body={"perm": "ro", "user_ids": ["other@example.com"]})
    [inv] = (await user.request("GET", "/folders/invitations/list-sent")).body["invitations"]
    assert (await user.request("DELETE", "/folders/invitations/delete", json_body={"inv_id": inv["id"]})).status == 200
    assert (await client2.request("POST", "/folders/invitations/accept", json_body={"inv_id": inv["id"]})).status == 404
    await user.request("POST", "/folders", json_body={"name": ".config"})
    resp = await user.request("POST", "/folders/.config/invite", json_body={"perm": "ro", "user_ids": ["other@example.com"]})
    assert resp.status == 403 and "personal" in resp.body["msg"]
    # an invitee who already reaches a vfolder with that name cannot accept (names stay unique)
    await client2.request("POST", "/folders", json_body={"name": "f"})
    await user.request("POST", "/folders/f/invite", json_body={"perm": "ro", "user_ids": ["other@example.com"]})
    [inv] = (await client2.request("GET", "/folders/invitations/list")).body["invitations"]
    resp = await client2.request("POST", "/folders/invitations/accept", json_body={"inv_id": inv["id"]})
    assert resp.status == 409


async def test_project_vfolder_share_and_unshare(vf: Any, user: SignedClient, domain_admin: SignedClient,
                                                 other: Any) -> None:
    await domain_admin.request("POST", "/folders", json_body={"name": "proj", "group": "default", "permission": "ro"})
    assert await _upload(user, "proj", "x", b"x") == 403
    resp = await user.request("POST", "/folders/proj/share", json_body={"permission": "rw", "emails": ["user@lablup.com"]})
    assert resp.status == 403                               # only admins share
    resp = await domain_admin.request("POST", "/folders/proj/share",
                                      json_body={"permission": "rw", "emails": ["user@lablup.com"]})
    assert resp.status == 201 and resp.body == {"shared_emails": ["user@lablup.com"]}
    assert await _upload(user, "proj", "x", b"x") == 200
    resp = await domain_admin.request("POST", "/folders/proj/share",
                                      json_body={"permission": "rw", "emails": ["nobody@example.com"]})
    assert resp.status == 400 and "nobody@example.com" in resp.body["msg"]
    resp = await domain_admin.request("DELETE", "/folders/proj/unshare", json_body={"emails": ["user@lablup.com"]})
    assert resp.status == 200 and resp.body == {"unshared_emails": ["user@lablup.com"]}
    assert await _upload(user, "proj", "y", b"y") == 403
    resp = await user.request("POST", "/folders/proj/leave", json_body={})
    assert resp.status == 400
    client2, _ = other                                      # a member sees it too
    assert [f["name"] for f in (await client2.request("GET", "/folders")).body] == ["proj"]


async def test_clone(vf: Any, user: SignedClient, other: Any) -> None:
    client2, _ = other
    await user.request("POST", "/folders", json_body={"name": "src", "cloneable": False})
    await user.request("POST", "/folders/src/mkdir", json_body={"path": "d"})
    assert await _upload(user, "src", "d/file.bin", b"payload") == 200
    resp = await user.request("POST", "/folders/src/clone", json_body={"target_name": "copy"})
    assert resp.status == 403 and "cloning" in resp.body["msg"]
    await user.request("POST", "/folders/src/update-options", json_body={"cloneable": True})
    resp = await user.request("POST", "/folders/src/clone", json_body={"target_name": "copy"})
    assert resp.status == 201, resp.body
    assert resp.body["name"] == "copy" and resp.body["status"] == "ready" and "bgtask_id" not in resp.body
    assert await _download(user, "copy", "d/file.bin") == b"payload"
    resp = await user.request("POST", "/folders/src/clone", json_body={"target_name": "copy"})
    assert resp.status == 409
    # someone it is shared with (read-only) clones it into a vfolder of their own
    await user.request("POST", "/folders/src/invite", json_body={"perm": "ro", "user_ids": ["other@example.com"]})
    [inv] = (await client2.request("GET", "/folders/invitations/list")).body["invitations"]
    await client2.request("POST", "/folders/invitations/accept", json_body={"inv_id": inv["id"]})
    resp = await client2.request("POST", "/folders/src/clone", json_body={"target_name": "mine"})
    assert resp.status == 201, resp.body
    assert resp.body["is_owner"] is True
    assert await _upload(client2, "mine", "d/more", b"more") == 200
    assert await _download(client2, "mine", "d/file.bin") == b"payload"


async def test_change_ownership_moves_the_bytes_to_the_new_owner(vf: Any, user: SignedClient, admin: SignedClient,
                                                                 other: Any) -> None:
    client2, uid2 = other
    resp = await user.request("POST", "/folders", json_body={"name": "gift"})
    fid = resp.body["id"]
    assert await _upload(user, "gift", "g.txt", b"gift") == 200
    resp = await user.request("POST", "/folders/_/change-ownership", json_body={"vfolder": fid, "user_email": "other@example.com"})
    assert resp.status == 403
    resp = await admin.request("POST", "/folders/_/change-ownership", json_body={"vfolder": fid, "user_email": "other@example.com"})
    assert resp.status == 200, resp.body
    assert (await user.request("GET", "/folders/gift")).status == 404
    info = (await client2.request("GET", "/folders/gift")).body
    assert info["is_owner"] is True and info["quota_scope_id"] == f"user:{uid2}"
    assert await _download(client2, "gift", "g.txt") == b"gift"
    old = vf.storage.volume_path() / USER_UUID.hex / fid[0:2] / fid[2:4] / fid[4:]
    new = vf.storage.volume_path() / uid2.hex / fid[0:2] / fid[2:4] / fid[4:]
    assert not old.exists() and (new / "g.txt").read_bytes() == b"gift"
