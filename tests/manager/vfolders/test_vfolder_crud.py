"""The vfolder lifecycle over REST against a real manager and storage proxy: hosts, create,
list, info, rename, options, delete (also refused while a live session mounts it), GraphQL."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from ai.backend.common.status import SessionStatus
from ai.backend.manager.models import domains, groups, keypair_resource_policies, sessions, vfolders
from manager.helpers import SignedClient
from manager.rows import USER_UUID, add_session
from manager.vfolders.vfhelpers import HOST, add_user


async def _create(client: SignedClient, name: str, **extra: Any) -> dict[str, Any]:
    resp = await client.request("POST", "/folders", json_body={"name": name, **extra})
    assert resp.status == 201, resp.body
    return resp.body  # type: ignore[no-any-return]


async def test_hosts_types_and_default(vf: Any, user: SignedClient, admin: SignedClient) -> None:
    resp = await user.request("GET", "/folders/_/hosts")
    assert resp.status == 200, resp.body
    assert resp.body["default"] == HOST
    assert resp.body["allowed"] == [HOST]          # volume2 exists but no policy allows it
    assert resp.body["volume_info"][HOST]["backend"] == "vfs"
    assert "quota" in resp.body["volume_info"][HOST]["capabilities"]
    resp = await admin.request("GET", "/folders/_/all-hosts")
    assert resp.body == {"default": HOST, "allowed": ["local:volume1", "local:volume2"]}
    assert (await user.request("GET", "/folders/_/all_hosts")).status == 403
    resp = await user.request("GET", "/folders/_/allowed-types")
    assert resp.body == ["group", "user"]


async def test_create_list_info_rename_delete(vf: Any, user: SignedClient) -> None:
    item = await _create(user, "mydata", cloneable=True, usage_mode="data")
    assert item["name"] == "mydata" and item["host"] == HOST and item["is_owner"] is True
    assert item["ownership_type"] == "user" and item["user"] == str(USER_UUID) and item["usage_mode"] == "data"
    assert item["quota_scope_id"] == f"user:{USER_UUID}" and item["cloneable"] is True
    folder_dir = vf.storage.volume_path() / USER_UUID.hex / item["id"][0:2] / item["id"][2:4] / item["id"][4:]
    assert folder_dir.is_dir()

    listed = (await user.request("GET", "/folders")).body
    assert [f["name"] for f in listed] == ["mydata"]
    info = (await user.request("GET", "/folders/mydata")).body
    assert info["id"] == item["id"] and info["numFiles"] == 0 and info["type"] == "user"
    assert info["permission"] == "wd" and info["status"] == "ready"
    # by id, too
    assert (await user.request("GET", f"/folders/{uuid.UUID(item['id'])}")).body["name"] == "mydata"

    resp = await user.request("POST", "/folders/mydata/rename", json_body={"new_name": "renamed"})
    assert resp.status == 201, resp.body
    resp = await user.request("POST", "/folders/renamed/update-options",
                              json_body={"cloneable": False, "permission": "ro"})
    assert resp.status == 201, resp.body
    info = (await user.request("GET", "/folders/renamed")).body
    assert info["cloneable"] is False and info["name"] == "renamed"

    resp = await user.request("DELETE", "/folders/renamed")
    assert resp.status == 204, resp.body
    assert (await user.request("GET", "/folders/renamed")).status == 404
    assert not folder_dir.exists()
    async with vf.manager.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(vfolders))).scalar_one() == 0


async def test_bad_names_duplicates_and_unknown_hosts(vf: Any, user: SignedClient) -> None:
    for bad in ("", "a/b", "..", ".", "x" * 65, ".jupyter", "sp ace"):
        resp = await user.request("POST", "/folders", json_body={"name": bad})
        assert resp.status == 400, (bad, resp.body)
        assert resp.content_type == "application/problem+json"
    await _create(user, "dup")
    resp = await user.request("POST", "/folders", json_body={"name": "dup"})
    assert resp.status == 409 and "dup" in resp.body["msg"]
    # unique per owner across hosts: the same name on another host is refused too
    resp = await user.request("POST", "/folders", json_body={"name": "dup", "host": "local:volume2"})
    assert resp.status == 409
    resp = await user.request("POST", "/folders", json_body={"name": "other", "host": "local:volume2"})
    assert resp.status == 403 and "local:volume2" in resp.body["msg"]
    resp = await user.request("POST", "/folders", json_body={"name": "other", "host": "nowhere"})
    assert resp.status == 400 and "PROXY:VOLUME" in resp.body["msg"]
    resp = await user.request("POST", "/folders", json_body={"name": "other", "host": "ghost:volume1"})
    assert resp.status in (403, 503)
    resp = await user.request("POST", "/folders", json_body={"name": "other", "permission": "xx"})
    assert resp.status == 400 and "permission" in resp.body["msg"]
    resp = await user.request("POST", "/folders", json_body={"name": "other", "unmanaged_path": "/etc"})
    assert resp.status == 400 and "unmanaged" in resp.body["msg"]
    # another user may use the same name: names are per owner
    other_kp, _ = await add_user(vf.manager.db, "other")
    other = SignedClient(vf.manager.url, other_kp)
    try:
        await _create(other, "dup")
    finally:
        await other.close()


async def test_host_permissions_per_action(vf: Any, user: SignedClient) -> None:
    """Actions come from the union of domain, project and keypair policy permissions."""
    db = vf.manager.db
    only_create = {HOST: ["create-vfolder"]}
    async with db.begin() as conn:
        for table, cond in ((domains, domains.c.name == "default"), (groups, groups.c.name == "default"),
                            (keypair_resource_policies, keypair_resource_policies.c.name == "default")):
            await conn.execute(sa.update(table).where(cond).values(allowed_vfolder_hosts=only_create))
    await _create(user, "limited")
    resp = await user.request("POST", "/folders/limited/request-upload", json_body={"path": "a", "size": 1})
    assert resp.status == 403 and "upload-file" in resp.body["msg"]
    resp = await user.request("POST", "/folders/limited/mkdir", json_body={"path": "d"})
    assert resp.status == 403
    resp = await user.request("POST", "/folders/limited/rename", json_body={"new_name": "x"})
    assert resp.status == 403 and "modify-vfolder" in resp.body["msg"]
    resp = await user.request("DELETE", "/folders/limited")
    assert resp.status == 403 and "delete-vfolder" in resp.body["msg"]
    # the keypair policy alone adds delete
    async with db.begin() as conn:
        await conn.execute(sa.update(keypair_resource_policies).where(keypair_resource_policies.c.name == "default")
                           .values(allowed_vfolder_hosts={HOST: ["delete-vfolder"]}))
    assert (await user.request("DELETE", "/folders/limited")).status == 204
    # a host nobody lists is not offered and not usable
    async with db.begin() as conn:
        await conn.execute(sa.update(domains).values(allowed_vfolder_hosts={}))
        await conn.execute(sa.update(groups).values(allowed_vfolder_hosts={}))
        await conn.execute(sa.update(keypair_resource_policies).values(allowed_vfolder_hosts={}))
    body = (await user.request("GET", "/folders/_/hosts")).body
    assert body == {"default": None, "allowed": [], "volume_info": {}}
    assert (await user.request("POST", "/folders", json_body={"name": "nope"})).status == 403


async def test_delete_refused_while_a_live_session_mounts_it(vf: Any, user: SignedClient) -> None:
    item = await _create(user, "busy")
    folder_id = uuid.UUID(item["id"])
    sid = await add_session(vf.manager.db, "sess-busy", agent=None, slots={"cpu": "1", "mem": "1g"},
                            status=SessionStatus.RUNNING)
    mount = {"name": "busy", "vfolder_id": str(folder_id), "host_path": "/x", "kernel_path": "/home/work/busy",
             "permission": "rw"}
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == sid).values(vfolder_mounts=[mount]))
    resp = await user.request("DELETE", "/folders/busy")
    assert resp.status == 409 and "sess-busy" in resp.body["msg"]
    assert (await user.request("GET", "/folders/busy")).status == 200   # still there, still ready
    # a kernel row that only kept the host path is recognised as well
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == sid).values(status=SessionStatus.TERMINATED))
        from ai.backend.manager.models import kernels
        hp = f"/vfroot/volume1/{USER_UUID.hex}/{folder_id.hex[0:2]}/{folder_id.hex[2:4]}/{folder_id.hex[4:]}"
        await conn.execute(sa.update(kernels).where(kernels.c.session_id == sid)
                           .values(vfolder_mounts=[{"host_path": hp, "kernel_path": "/home/work/busy"}]))
    resp = await user.request("DELETE", "/folders/busy")
    assert resp.status == 409 and "sess-busy" in resp.body["msg"]
    async with vf.manager.db.begin() as conn:
        await conn.execute(sa.update(kernels).where(kernels.c.session_id == sid).values(status=SessionStatus.TERMINATED))
    assert (await user.request("DELETE", "/folders/busy")).status == 204


async def test_project_vfolders(vf: Any, user: SignedClient, domain_admin: SignedClient) -> None:
    group = "2de2b969-1d04-48a6-af16-0bc8adb3c831"
    resp = await user.request("POST", "/folders", json_body={"name": "team", "group": group})
    assert resp.status == 403                      # users cannot create project vfolders
    item = await _create(domain_admin, "team", group="default", permission="ro")
    assert item["ownership_type"] == "group" and item["group"] == group and item["quota_scope_id"] == f"project:{group}"
    # members see it with its innate permission
    seen = {f["name"]: f for f in (await user.request("GET", "/folders")).body}
    assert seen["team"]["permission"] == "ro" and seen["team"]["is_owner"] is False
    resp = await user.request("POST", "/folders/team/mkdir", json_body={"path": "x"})
    assert resp.status == 403 and "'ro'" in resp.body["msg"]
    resp = await user.request("DELETE", "/folders/team")
    assert resp.status == 403
    resp = await domain_admin.request("POST", "/folders", json_body={"name": ".dot", "group": group})
    assert resp.status == 400
    assert (await domain_admin.request("DELETE", "/folders/team")).status == 204


async def test_graphql_vfolder_list(vf: Any, user: SignedClient, admin: SignedClient) -> None:
    await _create(user, "gq1")
    await _create(admin, "gq2")
    query = ("query($limit:Int!, $offset:Int!, $group_id: UUID, $filter: String, $order: String) {"
             " vfolder_list(limit:$limit, offset:$offset, group_id:$group_id, filter:$filter, order:$order) {"
             " items { host name created_at creator group permission ownership_type status } total_count } }")
    body = await user.gql(query, {"limit": 20, "offset": 0, "group_id": None, "filter": None, "order": None})
    assert "errors" not in body, body
    items = body["data"]["vfolder_list"]["items"]
    assert [i["name"] for i in items] == ["gq1"]      # a user sees only what they reach
    assert list(items[0]) == ["host", "name", "created_at", "creator", "group", "permission",
                              "ownership_type", "status"]
    assert items[0]["creator"] == "user@lablup.com" and items[0]["ownership_type"] == "user"
    body = await admin.gql(query, {"limit": 20, "offset": 0, "filter": 'name like "gq%"', "order": "name"})
    assert [i["name"] for i in body["data"]["vfolder_list"]["items"]] == ["gq1", "gq2"]
    assert body["data"]["vfolder_list"]["total_count"] == 2
    body = await admin.gql(query, {"limit": 20, "offset": 0, "filter": 'status == "READY" & permission in ["READ_WRITE"]'})
    assert body["data"]["vfolder_list"]["total_count"] == 2
    own = await user.gql("query { vfolder_own_list(limit: 10, offset: 0) { items { name } total_count } }")
    assert own["data"]["vfolder_own_list"]["items"] == [{"name": "gq1"}]


async def test_admin_views_and_superadmin_delete_by_id(vf: Any, user: SignedClient, admin: SignedClient,
                                                       domain_admin: SignedClient) -> None:
    item = await _create(user, "users-own")
    await _create(user, "second")
    resp = await domain_admin.request("GET", "/folders", json_body={"owner_user_email": "user@lablup.com"})
    assert resp.status == 200 and sorted(f["name"] for f in resp.body) == ["second", "users-own"]
    resp = await user.request("GET", "/folders", json_body={"owner_user_email": "admin@lablup.com"})
    assert resp.status == 403
    resp = await domain_admin.request("GET", "/folders", json_body={"owner_user_email": "ghost@lablup.com"})
    assert resp.status == 404
    resp = await user.request("GET", "/folders", params={"group_id": "2de2b969-1d04-48a6-af16-0bc8adb3c831"})
    assert sorted(f["name"] for f in resp.body) == ["second", "users-own"]
    # a domain admin cannot delete a user's vfolder; a superadmin can, by id
    resp = await domain_admin.request("DELETE", "/folders", json_body={"id": item["id"]})
    assert resp.status == 404
    resp = await admin.request("DELETE", "/folders", json_body={"id": item["id"]})
    assert resp.status == 204
    assert [f["name"] for f in (await user.request("GET", "/folders")).body] == ["second"]
    resp = await admin.request("DELETE", "/folders", json_body={"id": "not-a-uuid"})
    assert resp.status == 400
