"""GraphQL mutations and queries an administrator uses, end to end."""

from __future__ import annotations

import json
from typing import Any

from ai.backend.common.status import SessionStatus
from manager.helpers import SignedClient
from manager.rows import add_agent, add_session

PAGE = {"limit": 20, "offset": 0}


async def test_user_list_filter_and_order(admin: SignedClient) -> None:
    query = """query($limit:Int!, $offset:Int!, $filter:String, $order:String) {
      user_list(limit:$limit, offset:$offset, filter:$filter, order:$order) { items { email role } total_count } }"""
    body = await admin.gql(query, {**PAGE, "filter": 'role in ["ADMIN", "superadmin"]', "order": "-email"})
    assert body["data"]["user_list"] == {"items": [{"email": "domain-admin@lablup.com", "role": "admin"},
                                                   {"email": "admin@lablup.com", "role": "superadmin"}],
                                         "total_count": 2}
    body = await admin.gql(query, {**PAGE, "filter": 'email ilike "%USER@%" & status == "ACTIVE"'})
    assert [i["email"] for i in body["data"]["user_list"]["items"]] == ["user@lablup.com"]
    body = await admin.gql(query, {"limit": 1, "offset": 1, "order": "email"})
    assert body["data"]["user_list"] == {"items": [{"email": "domain-admin@lablup.com", "role": "admin"}],
                                         "total_count": 3}
    body = await admin.gql(query, {**PAGE, "filter": "nosuchfield == 1"})
    assert "unknown field 'nosuchfield'" in body["errors"][0]["message"]
    body = await admin.gql(query, {"limit": 1000, "offset": 0})
    assert "limit" in body["errors"][0]["message"]


async def test_domain_group_user_lifecycle(admin: SignedClient) -> None:
    body = await admin.gql("""mutation {
      create_domain(name: "lab", props: {description: "a lab", total_resource_slots: "{\\"cpu\\": \\"16\\", \\"mem\\": \\"64g\\"}",
                    allowed_docker_registries: ["cr.backend.ai"]}) { ok msg domain { name total_resource_slots } } }""")
    res = body["data"]["create_domain"]
    assert res["ok"], res
    assert json.loads(res["domain"]["total_resource_slots"]) == {"cpu": "16", "mem": str(64 << 30)}
    dup = await admin.gql('mutation { create_domain(name: "lab", props: {}) { ok msg } }')
    assert dup["data"]["create_domain"]["ok"] is False and "already exists" in dup["data"]["create_domain"]["msg"]

    body = await admin.gql("""mutation { create_group(name: "team", props: {domain_name: "lab", description: "t"}) {
        ok msg group { id name domain_name } } }""")
    group = body["data"]["create_group"]["group"]
    body = await admin.gql("""mutation($g: [String]) { create_user(email: "u1@lab.org", props: {
        password: "pw-u1", need_password_change: true, domain_name: "lab", group_ids: $g, full_name: "U One"}) {
        ok msg user { email username role domain_name groups { id name } main_access_key } } }""", {"g": [group["id"]]})
    user = body["data"]["create_user"]["user"]
    assert user["username"] == "u1@lab.org" and user["role"] == "user"
    assert user["groups"] == [{"id": group["id"], "name": "team"}]
    assert user["main_access_key"].startswith("AKIA")

    body = await admin.gql(f"""mutation {{ modify_group(gid: "{group['id']}", props: {{user_update_mode: "remove",
        user_uuids: []}}) {{ ok msg }} }}""")
    assert body["data"]["modify_group"]["ok"]
    body = await admin.gql('query { groups(domain_name: "lab") { name scaling_groups } }')
    assert body["data"]["groups"] == [{"name": "team", "scaling_groups": []}]
    body = await admin.gql('query { groups_by_name(name: "team") { domain_name } }')
    assert body["data"]["groups_by_name"] == [{"domain_name": "lab"}]

    body = await admin.gql('mutation { purge_domain(name: "lab") { ok msg } }')
    assert body["data"]["purge_domain"]["ok"] is False and "still has" in body["data"]["purge_domain"]["msg"]
    await admin.gql('mutation { purge_user(email: "u1@lab.org", props: {purge_shared_vfolders: false}) { ok msg } }')
    body = await admin.gql(f'mutation {{ purge_group(gid: "{group["id"]}") {{ ok msg }} }}')
    assert body["data"]["purge_group"]["ok"], body
    body = await admin.gql('mutation { purge_domain(name: "lab") { ok msg } }')
    assert body["data"]["purge_domain"] == {"ok": True, "msg": "success"}


async def test_invalid_inputs_are_reported_not_crashing(admin: SignedClient) -> None:
    body = await admin.gql("""mutation { create_user(email: "x@y.z", props: {password: "p", need_password_change: false,
        domain_name: "default", role: "emperor"}) { ok msg } }""")
    assert body["data"]["create_user"]["ok"] is False and "unknown role" in body["data"]["create_user"]["msg"]
    body = await admin.gql("""mutation { create_user(email: "x@y.z", props: {password: "p", need_password_change: false,
        domain_name: "no-such-domain"}) { ok msg } }""")
    assert body["data"]["create_user"]["ok"] is False
    body = await admin.gql('mutation { create_keypair(user_id: "nobody@x.y", props: {}) { ok msg } }')
    assert body["data"]["create_keypair"] == {"ok": False, "msg": "no user with email 'nobody@x.y'"}
    body = await admin.gql('mutation { create_keypair(user_id: "user@lablup.com", props: {resource_policy: "gold"}) { ok msg } }')
    assert "no keypair resource policy named 'gold'" in body["data"]["create_keypair"]["msg"]
    body = await admin.gql('mutation { create_scaling_group(name: "x", props: {driver: "static", scheduler: "random"}) { ok msg } }')
    assert "unknown scheduler" in body["data"]["create_scaling_group"]["msg"]
    body = await admin.gql('mutation { create_resource_preset(name: "bad", props: {resource_slots: "{\\"mem\\": \\"lots\\"}"}) { ok msg } }')
    assert body["data"]["create_resource_preset"]["ok"] is False
    body = await admin.gql("query { nosuchfield }")
    assert body["data"] is None and "nosuchfield" in body["errors"][0]["message"]
    body = await admin.gql("query {")
    assert body["errors"]


async def test_policies_and_presets(admin: SignedClient, user: SignedClient) -> None:
    body = await admin.gql("""mutation { create_keypair_resource_policy(name: "gold", props: {
        default_for_unspecified: "LIMITED", total_resource_slots: "{\\"cpu\\": \\"8\\"}", max_concurrent_sessions: 3,
        max_containers_per_session: 2, idle_timeout: 600, max_vfolder_count: 0, max_vfolder_size: 0,
        allowed_vfolder_hosts: "{}"}) { ok msg resource_policy { name total_resource_slots } } }""")
    assert body["data"]["create_keypair_resource_policy"]["ok"], body
    body = await admin.gql("query { keypair_resource_policies { name default_for_unspecified max_concurrent_sessions } }")
    assert {"name": "gold", "default_for_unspecified": "LIMITED", "max_concurrent_sessions": 3} in \
        body["data"]["keypair_resource_policies"]
    # a user reads only their own policy
    body = await user.gql("query { keypair_resource_policy { name } }")
    assert body["data"]["keypair_resource_policy"] == {"name": "default"}
    body = await user.gql('query { keypair_resource_policy(name: "gold") { name } }')
    assert body["data"]["keypair_resource_policy"] is None
    body = await admin.gql('mutation { delete_keypair_resource_policy(name: "default") { ok msg } }')
    assert body["data"]["delete_keypair_resource_policy"]["ok"] is False   # still used by keypairs

    body = await admin.gql("""mutation { create_resource_preset(name: "gpu-small", props: {
        resource_slots: "{\\"cpu\\": \\"2\\", \\"mem\\": \\"4g\\", \\"cuda.shares\\": \\"0.5\\"}", shared_memory: "1g"}) {
        ok msg resource_preset { name resource_slots shared_memory } } }""")
    preset = body["data"]["create_resource_preset"]["resource_preset"]
    assert json.loads(preset["resource_slots"]) == {"cpu": "2", "mem": str(4 << 30), "cuda.shares": "0.5"}
    assert preset["shared_memory"] == 1 << 30
    body = await admin.gql('mutation { modify_resource_preset(name: "gpu-small", props: {shared_memory: "2g"}) { ok } }')
    assert body["data"]["modify_resource_preset"]["ok"]
    body = await user.gql('query { resource_preset(name: "gpu-small") { shared_memory } }')
    assert body["data"]["resource_preset"] == {"shared_memory": 2 << 30}
    body = await admin.gql('mutation { delete_resource_preset(name: "gpu-small") { ok } }')
    assert body["data"]["delete_resource_preset"]["ok"]


async def test_scaling_group_associations(admin: SignedClient, user: SignedClient) -> None:
    gid = "2de2b969-1d04-48a6-af16-0bc8adb3c831"
    body = await admin.gql("""mutation { create_scaling_group(name: "gpu", props: {driver: "static", scheduler: "LIFO",
        scheduler_opts: "{\\"num_retries_to_skip\\": 3}", is_public: false}) { ok msg scaling_group { name scheduler scheduler_opts } } }""")
    sg = body["data"]["create_scaling_group"]["scaling_group"]
    assert sg["scheduler"] == "lifo" and json.loads(sg["scheduler_opts"]) == {"num_retries_to_skip": 3}
    body = await user.gql("query { scaling_groups { name } }")
    assert body["data"]["scaling_groups"] == [{"name": "default"}]
    body = await admin.gql(f'mutation {{ associate_scaling_group_with_user_group(scaling_group: "gpu", user_group: "{gid}") {{ ok msg }} }}')
    assert body["data"]["associate_scaling_group_with_user_group"]["ok"], body
    body = await user.gql("query { scaling_groups { name } }")
    assert [s["name"] for s in body["data"]["scaling_groups"]] == ["default", "gpu"]
    body = await admin.gql(f'query {{ scaling_groups_for_user_group(user_group: "{gid}") {{ name }} }}')
    assert body["data"]["scaling_groups_for_user_group"] == [{"name": "gpu"}]
    body = await admin.gql('mutation { associate_scaling_group_with_domain(scaling_group: "gpu", domain: "nope") { ok msg } }')
    assert body["data"]["associate_scaling_group_with_domain"] == {"ok": False, "msg": "No such domain."}
    body = await admin.gql(f'mutation {{ disassociate_all_scaling_groups_with_group(user_group: "{gid}") {{ ok }} }}')
    assert body["data"]["disassociate_all_scaling_groups_with_group"]["ok"]
    body = await user.gql("query { scaling_groups { name } }")
    assert body["data"]["scaling_groups"] == [{"name": "default"}]
    body = await admin.gql('mutation { delete_scaling_group(name: "gpu") { ok msg } }')
    assert body["data"]["delete_scaling_group"]["ok"]


async def test_compute_sessions_and_containers(admin: SignedClient, user: SignedClient, domain_admin: SignedClient,
                                              manager: Any, test_id: str) -> None:
    agent = f"i-agent-{test_id}"
    await add_agent(manager.db, agent, {"cpu": "8", "mem": "16g"})
    sid = await add_session(manager.db, "run1", agent=agent, slots={"cpu": "1", "mem": "2g"})
    await add_session(manager.db, "pend1", agent=None, slots={"cpu": "99", "mem": "1g"}, status=SessionStatus.PENDING,
                      status_info="predicate-checks-failed",
                      status_data={"check": "keypair_resource_limit", "slot": "cpu", "missing": "91"})
    await add_session(manager.db, "admins", agent=agent, slots={"cpu": "1", "mem": "1g"}, access_key="AKIAIOSFODNN7EXAMPLE",
                      user_uuid=__import__("uuid").UUID("f38dea23-50fa-42a0-b5ae-338f5f4693f4"))
    query = """query($limit:Int!, $offset:Int!, $status:String, $access_key:String) {
      compute_session_list(limit:$limit, offset:$offset, status:$status, access_key:$access_key) {
        items { name access_key id group_name main_kernel_id image type status status_info status_data
                occupying_slots containers { id role agent occupied_slots } } total_count } }"""
    body = await user.gql(query, {**PAGE, "status": "PENDING,RUNNING"})
    items = {i["name"]: i for i in body["data"]["compute_session_list"]["items"]}
    assert set(items) == {"run1", "pend1"}
    run1 = items["run1"]
    assert run1["id"] == str(sid) and run1["main_kernel_id"] == str(sid) and run1["group_name"] == "default"
    assert json.loads(run1["occupying_slots"]) == {"cpu": "1", "mem": str(2 << 30)}
    assert run1["containers"] == [{"id": str(sid), "role": "main", "agent": None,
                                   "occupied_slots": json.dumps({"cpu": "1", "mem": str(2 << 30)})}]
    assert json.loads(items["pend1"]["status_data"])["check"] == "keypair_resource_limit"
    body = await user.gql(query, {**PAGE, "access_key": "AKIAIOSFODNN7EXAMPLE"})
    assert body.get("errors")
    body = await admin.gql(query, {**PAGE, "status": "RUNNING"})
    names = {i["name"]: i for i in body["data"]["compute_session_list"]["items"]}
    assert set(names) == {"run1", "admins"}
    assert names["run1"]["containers"][0]["agent"] == agent   # superadmins see agents
    body = await domain_admin.gql(query, PAGE)
    assert body["data"]["compute_session_list"]["total_count"] == 3
    body = await user.gql(f'query {{ compute_session(id: "{sid}") {{ name service_ports }} }}')
    assert json.loads(body["data"]["compute_session"]["service_ports"])[0]["name"] == "http-server"
    body = await user.gql(f"""query {{ compute_container_list(limit: 10, offset: 0, session_id: "{sid}") {{
        items {{ id cluster_role status }} total_count }} }}""")
    assert body["data"]["compute_container_list"] == {"items": [{"id": str(sid), "cluster_role": "main",
                                                                 "status": "RUNNING"}], "total_count": 1}
    body = await admin.gql(f'query {{ agent(agent_id: "{agent}") {{ occupied_slots compute_containers {{ id }} }} }}')
    assert json.loads(body["data"]["agent"]["occupied_slots"]) == {"cpu": "2", "mem": str(3 << 30)}
    assert len(body["data"]["agent"]["compute_containers"]) == 2
    body = await admin.gql("""query { keypair(access_key: "AKIANABBDUSEREXAMPLE") { concurrency_used } }""")
    assert body["data"]["keypair"]["concurrency_used"] == 2


async def test_legacy_graphql_endpoint(admin: SignedClient) -> None:
    resp = await admin.request("POST", "/admin/graphql", json_body={"query": "query { domain { name } }"})
    assert resp.status == 200 and resp.body == {"domain": {"name": "default"}}
    resp = await admin.request("POST", "/admin/graphql", json_body={"query": "query { nope }"})
    assert resp.status == 400 and resp.body["type"].endswith("/graphql-error")
