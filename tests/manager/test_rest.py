"""The REST endpoints other than /auth, against a real manager."""

from __future__ import annotations

from typing import Any

from ai.backend.common.status import SessionStatus
from manager.helpers import SignedClient
from manager.rows import add_agent, add_session


async def test_manager_status_freeze_and_announcement(admin: SignedClient, user: SignedClient,
                                                      anonymous: SignedClient, manager: Any) -> None:
    resp = await user.request("GET", "/manager/status")
    assert resp.status == 200
    assert resp.body["status"] == "running" and resp.body["active_sessions"] == 0
    assert resp.body["nodes"][0]["api_version"] == "v7.20230615"

    assert (await admin.request("PUT", "/manager/status", json_body={"status": "frozen"})).status == 204
    assert (await user.request("GET", "/manager/status")).body["status"] == "frozen"
    # frozen: users cannot change state (here: report an error log); reads still work
    resp = await user.request("POST", "/logs/error", json_body={
        "severity": "error", "source": "client", "message": "boom", "context_lang": "python", "context_env": "{}"})
    assert resp.status == 503 and resp.body["type"].endswith("/server-frozen")
    assert (await user.request("GET", "/logs/error")).status == 200
    assert (await admin.request("PUT", "/manager/status", json_body={"status": "running"})).status == 204
    bad = await admin.request("PUT", "/manager/status", json_body={"status": "sleeping"})
    assert bad.status == 400 and "status" in bad.body["msg"]

    assert (await anonymous.request("GET", "/manager/announcement")).body == {"enabled": False, "message": ""}
    resp = await admin.request("POST", "/manager/announcement", json_body={"enabled": True, "message": "Maintenance at 9"})
    assert resp.status == 204
    assert (await user.request("GET", "/manager/announcement")).body == {"enabled": True, "message": "Maintenance at 9"}
    assert await manager.etcd.get("manager/announcement/message") == "Maintenance at 9"
    await admin.request("POST", "/manager/announcement", json_body={"enabled": False})
    assert (await user.request("GET", "/manager/announcement")).body["enabled"] is False


async def test_config_endpoints(admin: SignedClient, user: SignedClient, manager: Any, test_id: str) -> None:
    assert (await user.request("GET", "/config/resource-slots")).body == {"cpu": "count", "mem": "bytes"}
    await manager.etcd.put("config/resource_slots/cuda.device", "count")
    assert (await user.request("GET", "/config/resource-slots")).body["cuda.device"] == "count"
    await add_agent(manager.db, f"i-gpu-{test_id}", {"cpu": "4", "mem": "8g", "cuda.device": "2"})
    details = (await user.request("GET", "/config/resource-slots/details", params={"sgroup": "default"})).body
    assert details["cpu"]["display_unit"] == "Core" and details["cuda.device"]["slot_name"] == "cuda.device"
    assert (await user.request("GET", "/config/vfolder-types")).body == ["user"]

    # raw etcd access (superadmin only)
    resp = await admin.request("POST", "/config/set", json_body={"key": "config/test/a", "value": "1"})
    assert resp.status == 200 and resp.body == {"result": "ok"}
    resp = await admin.request("POST", "/config/set", json_body={"key": "config/test/tree", "value": {"x": "1", "y": {"z": "2"}}})
    assert resp.status == 200
    resp = await admin.request("POST", "/config/get", json_body={"key": "config/test", "prefix": True})
    assert resp.body["result"] == {"a": "1", "tree": {"x": "1", "y": {"z": "2"}}}
    resp = await admin.request("POST", "/config/get", json_body={"key": "config/test/a"})
    assert resp.body["result"] == "1"
    await admin.request("POST", "/config/delete", json_body={"key": "config/test", "prefix": True})
    resp = await admin.request("POST", "/config/get", json_body={"key": "config/test", "prefix": True})
    assert resp.body["result"] == {}
    resp = await admin.request("POST", "/config/get", json_body={"key": "../escape"})
    assert resp.status == 400
    resp = await admin.request("POST", "/config/get", json_body={})
    assert resp.status == 400 and "key" in resp.body["msg"]
    await manager.etcd.put("config/docker/registry/cr.example.com", "https://cr.example.com")
    assert (await admin.request("GET", "/config/docker-registries")).body == {"cr.example.com": "https://cr.example.com"}
    assert (await user.request("GET", "/config/docker-registries")).status == 403


async def test_resource_presets_and_check_presets(admin: SignedClient, user: SignedClient, manager: Any,
                                                  test_id: str) -> None:
    presets = (await user.request("GET", "/resource/presets")).body["presets"]
    assert [p["name"] for p in presets] == ["cpu01-small", "cpu02-medium", "cpu04-large"]
    assert presets[0]["resource_slots"] == {"cpu": "1", "mem": "1073741824"}
    assert presets[0]["shared_memory"] == "67108864"

    # capacity: one agent with 4 cores / 8g, of which the user's session holds 2 cores / 4g
    agent = f"i-agent-{test_id}"
    await add_agent(manager.db, agent, {"cpu": "4", "mem": "8g"})
    await add_session(manager.db, "s1", agent=agent, slots={"cpu": "2", "mem": "4g"})
    await add_session(manager.db, "queued", agent=None, slots={"cpu": "1", "mem": "1g"}, status=SessionStatus.PENDING)
    await admin.gql('mutation { modify_keypair_resource_policy(name: "default", props: {total_resource_slots: "{\\"cpu\\": \\"3\\"}"}) { ok } }')
    report = (await user.request("POST", "/resource/check-presets")).body
    assert report["keypair_limits"] == {"cpu": "3", "mem": "Infinity"}
    assert report["keypair_using"] == {"cpu": "2", "mem": "4294967296"}       # PENDING does not occupy
    assert report["keypair_remaining"] == {"cpu": "1", "mem": "Infinity"}
    assert report["group_remaining"] == {"cpu": "Infinity", "mem": "Infinity"}
    assert report["scaling_group_remaining"] == {"cpu": "2", "mem": "4294967296"}
    assert report["scaling_groups"]["default"]["using"] == {"cpu": "2", "mem": "4294967296"}
    allocatable = {p["name"]: p["allocatable"] for p in report["presets"]}
    assert allocatable == {"cpu01-small": True, "cpu02-medium": False, "cpu04-large": False}

    resp = await user.request("POST", "/resource/check-presets", json_body={"scaling_group": "nope"})
    assert resp.status == 403
    resp = await user.request("POST", "/resource/check-presets", json_body={"group": "no-such-project"})
    assert resp.status == 404


async def test_scaling_groups_for_a_project(admin: SignedClient, user: SignedClient) -> None:
    resp = await user.request("GET", "/scaling-groups", params={"group": "default"})
    assert resp.body == {"scaling_groups": [{"name": "default"}]}
    await admin.gql('mutation { create_scaling_group(name: "gpu", props: {driver: "static", scheduler: "drf"}) { ok msg } }')
    assert (await user.request("GET", "/scaling-groups", params={"group": "default"})).body["scaling_groups"] == [
        {"name": "default"}]
    await admin.gql('mutation { associate_scaling_group_with_keypair(scaling_group: "gpu", access_key: "AKIANABBDUSEREXAMPLE") { ok } }')
    names = [s["name"] for s in (await user.request("GET", "/scaling-groups", params={"group": "default"})).body["scaling_groups"]]
    assert names == ["default", "gpu"]
    resp = await user.request("GET", "/scaling-groups/gpu/wsproxy-version", params={"group": "default"})
    assert resp.body == {"wsproxy_version": "v1"}
    resp = await user.request("GET", "/scaling-groups")
    assert resp.status == 400 and "group" in resp.body["msg"]


async def test_acl(user: SignedClient) -> None:
    perms = (await user.request("GET", "/acl")).body["vfolder_host_permission_list"]
    assert "mount-in-session" in perms and "create-vfolder" in perms


async def test_error_logs_are_scoped(admin: SignedClient, user: SignedClient, domain_admin: SignedClient) -> None:
    resp = await user.request("POST", "/logs/error", json_body={
        "severity": "error", "source": "webui", "message": "it broke", "context_lang": "js",
        "context_env": '{"browser": "x"}', "request_url": "/foo", "request_status": 500})
    assert resp.status == 200 and resp.body["success"] is True
    await admin.request("POST", "/logs/error", json_body={
        "severity": "critical", "source": "cli", "message": "admin's own", "context_lang": "python", "context_env": {}})
    mine = (await user.request("GET", "/logs/error", params={"mark_read": "True"})).body
    assert mine["count"] == 1 and mine["logs"][0]["message"] == "it broke"
    assert mine["logs"][0]["context_env"] == {"browser": "x"}
    again = (await user.request("GET", "/logs/error")).body
    assert again["logs"][0]["is_read"] is True
    assert (await domain_admin.request("GET", "/logs/error")).body["count"] == 2
    log_id = mine["logs"][0]["log_id"]
    assert (await user.request("POST", f"/logs/error/{log_id}/clear")).status == 200
    assert (await user.request("GET", "/logs/error")).body["count"] == 0
    assert (await admin.request("GET", "/logs/error")).body["count"] == 2   # superadmins keep seeing cleared ones
    resp = await user.request("POST", "/logs/error", json_body={"severity": "fatal", "source": "x", "message": "m",
                                                                 "context_lang": "py", "context_env": "{}"})
    assert resp.status == 400
    resp = await user.request("POST", "/logs/error/not-a-uuid/clear")
    assert resp.status == 404


async def test_bad_json_and_wrong_methods(admin: SignedClient) -> None:
    resp = await admin.request("POST", "/config/get", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    resp = await admin.request("DELETE", "/manager/announcement")
    assert resp.status == 405 and resp.content_type == "application/problem+json"
