"""GET / DELETE / PATCH /session/{name}, rename, status history and the dependency graph,
by name or id, always scoped to the owner keypair (owner_access_key for admins)."""

from __future__ import annotations

import uuid
from typing import Any

from ai.backend.common.status import SessionStatus
from manager.helpers import USER, SignedClient
from manager.sessions_api.sesshelpers import IMAGE, body, kernel_rows, session_rows


async def _create(client: SignedClient, name: str, **changes: Any) -> uuid.UUID:
    resp = await client.request("POST", "/session", json_body=body(name=name, **changes))
    assert resp.status == 201, resp.body
    return uuid.UUID(resp.body["sessionId"])


async def test_get_info_by_name_or_id(mgr: Any, user: SignedClient) -> None:
    sid = await _create(user, "infosess", config_resources={"cpu": 1, "mem": "512m"}, tag="t1")
    by_name = await user.request("GET", "/session/infosess")
    assert by_name.status == 200 and by_name.content_type == "application/json"
    by_id = await user.request("GET", f"/session/{sid}")
    assert by_id.status == 200
    legacy = await user.request("GET", "/kernel/infosess")
    assert legacy.status == 200
    for info in (by_name.body, by_id.body, legacy.body):
        assert info["sessionId"] == str(sid) and info["sessionName"] == "infosess"
        assert info["status"] == "PENDING" and info["image"] == IMAGE and info["lang"] == IMAGE
        assert info["tag"] == "t1" and info["ownerAccessKey"] == USER[0] and info["domainName"] == "default"
        assert info["requestedSlots"] == {"cpu": "1", "mem": str(512 * 2**20)}
        assert info["memoryLimit"] == 512 * 1024
        assert [k["hostname"] for k in info["kernels"]] == ["main1"]
        assert info["statusHistory"][0]["status"] == "PENDING"
        assert isinstance(info["age"], int) and info["age"] >= 0


async def test_sessions_of_others_are_not_found(mgr: Any, user: SignedClient, admin: SignedClient,
                                                domain_admin: SignedClient) -> None:
    sid = await _create(user, "private-one")
    for method, path in (("GET", "/session/private-one"), ("GET", f"/session/{sid}"),
                         ("DELETE", "/session/private-one"), ("PATCH", "/session/private-one"),
                         ("GET", "/session/private-one/status-history")):
        resp = await admin.request(method, path)
        assert resp.status == 404, (method, path, resp.body)
        assert resp.body["type"].endswith("/session-not-found")
    resp = await admin.request("POST", "/session/private-one/rename", params={"name": "stolen"})
    assert resp.status == 404
    # a user cannot reach for another keypair; admins can with owner_access_key
    resp = await user.request("GET", "/session/private-one", params={"owner_access_key": "AKIAIOSFODNN7EXAMPLE"})
    assert resp.status == 403
    resp = await admin.request("GET", "/session/private-one", params={"owner_access_key": USER[0]})
    assert resp.status == 200 and resp.body["sessionId"] == str(sid)
    resp = await domain_admin.request("GET", f"/session/{sid}", params={"owner_access_key": USER[0]})
    assert resp.status == 200
    (row,) = await session_rows(mgr.db)
    assert row.name == "private-one" and row.status == SessionStatus.PENDING


async def test_rename(mgr: Any, user: SignedClient) -> None:
    sid = await _create(user, "before")
    await _create(user, "taken")
    resp = await user.request("POST", "/session/before/rename", params={"name": "taken"})
    assert resp.status == 409 and "taken" in resp.body["msg"]
    resp = await user.request("POST", "/session/before/rename", params={"name": "no spaces"})
    assert resp.status == 400 and "name" in resp.body["msg"]
    resp = await user.request("POST", f"/session/{sid}/rename", params={"name": "after"})
    assert resp.status == 204
    (row,) = await session_rows(mgr.db, id=sid)
    assert row.name == "after"
    assert all(k.session_name == "after" for k in await kernel_rows(mgr.db, sid))
    assert (await user.request("GET", "/session/before")).status == 404
    assert (await user.request("GET", "/session/after")).body["sessionId"] == str(sid)
    # the old name is free again
    await _create(user, "before")


async def test_destroy_pending_cancels_and_frees_the_name(mgr: Any, user: SignedClient, admin: SignedClient) -> None:
    sid = await _create(user, "doomed")
    resp = await user.request("DELETE", "/session/doomed", params={"forced": "true"})
    assert resp.status == 403 and "forced" in resp.body["msg"]
    resp = await user.request("DELETE", "/session/doomed")
    assert resp.status == 200, resp.body
    assert resp.content_type == "application/json" and "stats" in resp.body
    (row,) = await session_rows(mgr.db, id=sid)
    assert row.status == SessionStatus.CANCELLED
    assert (await user.request("DELETE", "/session/doomed")).status == 404
    # ended sessions stay visible by id (and by name with nothing live under it)
    info = await user.request("GET", f"/session/{sid}")
    assert info.status == 200 and info.body["status"] == "CANCELLED"
    again = await _create(user, "doomed")
    assert again != sid
    # an admin destroys another keypair's session with owner_access_key
    resp = await admin.request("DELETE", "/session/doomed", params={"owner_access_key": USER[0], "forced": "true"})
    assert resp.status == 200
    (row,) = await session_rows(mgr.db, id=again)
    assert row.status == SessionStatus.CANCELLED


async def test_destroy_recursive_takes_the_dependents(mgr: Any, user: SignedClient) -> None:
    base = await _create(user, "base-job")
    child = await _create(user, "child-job", dependencies=["base-job"])
    resp = await user.request("DELETE", "/session/base-job", params={"recursive": "true"})
    assert resp.status == 200
    statuses = {r.id: r.status for r in await session_rows(mgr.db)}
    assert statuses == {base: SessionStatus.CANCELLED, child: SessionStatus.CANCELLED}


async def test_restart_needs_a_running_session(mgr: Any, user: SignedClient) -> None:
    await _create(user, "not-yet")
    resp = await user.request("PATCH", "/session/not-yet")
    assert resp.status == 409 and "PENDING" in resp.body["msg"]
    (row,) = await session_rows(mgr.db)
    assert row.status == SessionStatus.PENDING


async def test_status_history_and_dependency_graph(mgr: Any, user: SignedClient) -> None:
    a = await _create(user, "stage-a")
    b = await _create(user, "stage-b", dependencies=["stage-a"])
    c = await _create(user, "stage-c", dependencies=["stage-b", "stage-a"])
    resp = await user.request("GET", "/session/stage-c/status-history")
    assert resp.status == 200 and list(resp.body["result"]) == ["PENDING"]
    resp = await user.request("GET", "/session/stage-c/dependency-graph")
    assert resp.status == 200
    graph = resp.body
    assert graph["session_id"] == str(c)
    children = {d["session_name"]: d for d in graph["depends_on"]}
    assert set(children) == {"stage-a", "stage-b"}
    assert children["stage-b"]["session_id"] == str(b) and children["stage-a"]["session_id"] == str(a)
    assert [d["session_id"] for d in children["stage-b"]["depends_on"]] == [str(a)]
    assert children["stage-a"]["depends_on"] == []
