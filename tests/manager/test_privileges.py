"""Who may see and change what: users only themselves, domain admins only their domain,
superadmins everything; owner_access_key only for admins."""

from __future__ import annotations

from typing import Any

from manager.helpers import DOMAIN_ADMIN, USER, SignedClient


def assert_refused(body: dict[str, Any]) -> None:
    """Refused either as an error (privilege) or as ok=false (the target is invisible)."""
    if body.get("errors"):
        return
    (result,) = body["data"].values()
    assert result["ok"] is False, body


OTHER_DOMAIN_SETUP = """mutation {
  create_domain(name: "other", props: {description: "another tenant"}) { ok msg }
}"""


async def _make_other_domain_user(admin: SignedClient) -> dict[str, Any]:
    body = await admin.gql(OTHER_DOMAIN_SETUP)
    assert body["data"]["create_domain"]["ok"], body
    body = await admin.gql("""mutation {
      create_group(name: "other-proj", props: {domain_name: "other"}) { ok msg group { id } } }""")
    gid = body["data"]["create_group"]["group"]["id"]
    body = await admin.gql("""mutation($g: [String]) {
      create_user(email: "alice@other.org", props: {password: "pw-alice", need_password_change: false,
                  domain_name: "other", role: "user", group_ids: $g}) {
        ok msg user { uuid main_access_key } } }""", {"g": [gid]})
    assert body["data"]["create_user"]["ok"], body
    return {"group_id": gid, **body["data"]["create_user"]["user"]}


async def test_user_cannot_list_others_or_change_global_state(user: SignedClient) -> None:
    body = await user.gql("query { keypairs { access_key } }")
    assert body["data"]["keypairs"] is None
    assert "admin privilege required" in body["errors"][0]["message"]
    body = await user.gql("query { keypair(access_key: \"AKIAIOSFODNN7EXAMPLE\") { access_key secret_key } }")
    assert body["data"]["keypair"] is None
    body = await user.gql("query($l:Int!,$o:Int!) { user_list(limit:$l, offset:$o) { items { email } total_count } }",
                          {"l": 20, "o": 0})
    assert body["data"]["user_list"] == {"items": [{"email": "user@lablup.com"}], "total_count": 1}
    for mutation in (
        'mutation { create_domain(name: "x", props: {}) { ok } }',
        'mutation { modify_keypair(access_key: "AKIAIOSFODNN7EXAMPLE", props: {is_active: false}) { ok } }',
        'mutation { create_scaling_group(name: "x", props: {driver: "static", scheduler: "fifo"}) { ok } }',
        'mutation { create_resource_preset(name: "x", props: {resource_slots: "{\\"cpu\\": 1}"}) { ok } }',
        'mutation { modify_user(email: "user@lablup.com", props: {role: "superadmin"}) { ok } }',
        'mutation { create_keypair(user_id: "user@lablup.com", props: {is_admin: true}) { ok } }',
        'mutation { alias_image(alias: "x", target: "y") { ok } }',
    ):
        body = await user.gql(mutation)
        assert body.get("errors"), mutation
        assert "privilege" in body["errors"][0]["message"], body
    for path, method, payload in (("/config/get", "POST", {"key": "config", "prefix": True}),
                                  ("/manager/status", "PUT", {"status": "frozen"}),
                                  ("/manager/announcement", "POST", {"enabled": True, "message": "hi"})):
        resp = await user.request(method, path, json_body=payload)
        assert resp.status == 403, (path, resp.body)
    body = await user.gql("query { agents { id } }")
    assert body.get("errors") and "superadmin" in body["errors"][0]["message"]


async def test_domain_admin_is_confined_to_the_domain(admin: SignedClient, domain_admin: SignedClient) -> None:
    alice = await _make_other_domain_user(admin)
    # sees its own domain's users and keypairs, not the other domain's
    body = await domain_admin.gql("query { users { email } keypairs { user_id } }")
    emails = {u["email"] for u in body["data"]["users"]}
    assert emails == {"admin@lablup.com", "user@lablup.com", "domain-admin@lablup.com"}
    assert "alice@other.org" not in {k["user_id"] for k in body["data"]["keypairs"]}
    body = await domain_admin.gql('query { users(domain_name: "other") { email } }')
    assert body.get("errors")
    body = await domain_admin.gql('query { user(email: "alice@other.org") { email } }')
    assert body["data"]["user"] is None
    body = await domain_admin.gql(f'query {{ group(id: "{alice["group_id"]}") {{ name }} }}')
    assert body["data"]["group"] is None
    # cannot change anything there
    for mutation in (
        'mutation { modify_user(email: "alice@other.org", props: {full_name: "x"}) { ok msg } }',
        'mutation { create_keypair(user_id: "alice@other.org", props: {}) { ok msg } }',
        f'mutation {{ modify_keypair(access_key: "{alice["main_access_key"]}", props: {{is_active: false}}) {{ ok msg }} }}',
        'mutation { create_user(email: "bob@other.org", props: {password: "p", need_password_change: false, domain_name: "other"}) { ok msg } }',
        f'mutation {{ modify_group(gid: "{alice["group_id"]}", props: {{description: "x"}}) {{ ok msg }} }}',
        'mutation { create_group(name: "sneaky", props: {domain_name: "other"}) { ok msg } }',
    ):
        assert_refused(await domain_admin.gql(mutation))
    body = await admin.gql("""query { user(email: "alice@other.org") { full_name status }
                                     keypairs(domain_name: "other") { access_key is_active }
                                     groups(domain_name: "other") { name description } }""")
    assert body["data"]["user"] == {"full_name": "", "status": "active"}
    assert body["data"]["keypairs"] == [{"access_key": alice["main_access_key"], "is_active": True}]
    assert body["data"]["groups"] == [{"name": "other-proj", "description": ""}]
    # nor escalate within its own domain
    assert_refused(await domain_admin.gql('mutation { modify_user(email: "user@lablup.com", props: {role: "superadmin"}) { ok } }'))
    assert_refused(await domain_admin.gql('mutation { modify_user(email: "admin@lablup.com", props: {full_name: "x"}) { ok } }'))
    body = await admin.gql('query { user(email: "user@lablup.com") { role } u2: user(email: "admin@lablup.com") { full_name } }')
    assert body["data"] == {"user": {"role": "user"}, "u2": {"full_name": "Admin Lablup"}}
    # but manages its own domain
    body = await domain_admin.gql('mutation { modify_user(email: "user@lablup.com", props: {full_name: "Renamed"}) { ok msg } }')
    assert body["data"]["modify_user"] == {"ok": True, "msg": "success"}
    body = await domain_admin.gql("""mutation { create_user(email: "carol@lablup.com", props: {
        password: "pw-carol", need_password_change: false, domain_name: "default"}) { ok msg } }""")
    assert body["data"]["create_user"]["ok"], body


async def test_superadmin_can_do_everything(admin: SignedClient) -> None:
    alice = await _make_other_domain_user(admin)
    body = await admin.gql('query { users(domain_name: "other") { email } domains { name } }')
    assert [u["email"] for u in body["data"]["users"]] == ["alice@other.org"]
    assert {d["name"] for d in body["data"]["domains"]} == {"default", "other"}
    body = await admin.gql(f'mutation {{ modify_keypair(access_key: "{alice["main_access_key"]}", props: {{rate_limit: 7}}) {{ ok msg }} }}')
    assert body["data"]["modify_keypair"]["ok"]
    resp = await admin.request("POST", "/config/get", json_body={"key": "config/redis", "prefix": True})
    assert resp.status == 200 and "addr" in resp.body["result"]


async def test_owner_access_key_is_for_admins_only(admin: SignedClient, user: SignedClient,
                                                   domain_admin: SignedClient) -> None:
    # a user cannot act for another keypair
    resp = await user.request("POST", "/resource/check-presets", json_body={"owner_access_key": DOMAIN_ADMIN[0]})
    assert resp.status == 403 and resp.content_type == "application/problem+json"
    resp = await user.request("GET", "/auth/ssh-keypair", params={"owner_access_key": DOMAIN_ADMIN[0]})
    assert resp.status == 403
    # acting for oneself is fine
    resp = await user.request("POST", "/resource/check-presets", json_body={"owner_access_key": USER[0]})
    assert resp.status == 200, resp.body
    # the superadmin may act for anyone; the report is the owner's
    await admin.gql('mutation { modify_keypair_resource_policy(name: "default", props: {total_resource_slots: "{\\"cpu\\": \\"4\\"}"}) { ok } }')
    resp = await admin.request("POST", "/resource/check-presets", json_body={"owner_access_key": USER[0]})
    assert resp.status == 200, resp.body
    assert resp.body["keypair_limits"]["cpu"] == "4"
    resp = await admin.request("PATCH", "/auth/ssh-keypair", params={"owner_access_key": USER[0]})
    assert resp.status == 200
    mine = await user.request("GET", "/auth/ssh-keypair")
    assert mine.body["ssh_public_key"] == resp.body["ssh_public_key"]
    # a domain admin only within its domain
    alice = await _make_other_domain_user(admin)
    resp = await domain_admin.request("GET", "/auth/ssh-keypair", params={"owner_access_key": USER[0]})
    assert resp.status == 200
    resp = await domain_admin.request("GET", "/auth/ssh-keypair", params={"owner_access_key": alice["main_access_key"]})
    assert resp.status == 403
    # unknown owners are 404
    resp = await admin.request("GET", "/auth/ssh-keypair", params={"owner_access_key": "AKIANOSUCHKEYEXAMPLE"})
    assert resp.status == 404


async def test_admin_keypair_flag_gates_admin_privilege(admin: SignedClient, client_factory: Any) -> None:
    body = await admin.gql("""mutation { create_keypair(user_id: "admin@lablup.com", props: {is_admin: false}) {
        ok keypair { access_key secret_key } } }""")
    kp = body["data"]["create_keypair"]["keypair"]
    plain = client_factory((kp["access_key"], kp["secret_key"]))
    body = await plain.gql("query { keypairs { access_key } }")
    assert body.get("errors"), "a superadmin's non-admin keypair acts as a plain user"
