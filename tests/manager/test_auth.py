"""Authentication, API versions and rate limiting against a real manager (PostgreSQL, Redis, etcd)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from manager.helpers import ADMIN, USER, SignedClient

UNAUTHORIZED = "https://api.backend.ai/probs/unauthorized"


def assert_401(resp: Any) -> None:
    assert resp.status == 401, (resp.status, resp.body)
    assert resp.content_type == "application/problem+json"
    assert resp.body["type"] == UNAUTHORIZED
    assert resp.body["title"]


async def test_missing_authorization(anonymous: SignedClient) -> None:
    assert_401(await anonymous.request("GET", "/auth", params={"echo": "x"}))


async def test_garbled_authorization(anonymous: SignedClient) -> None:
    for header in ("garbage", "BackendAI signMethod=HMAC-SHA256", "BackendAI credential=AK:zz",
                   "BackendAI signMethod=HMAC-SHA256, credential=AKIAIOSFODNN7EXAMPLE:not-hex"):
        resp = await anonymous.request("GET", "/auth", params={"echo": "x"},
                                       headers={"Authorization": header, "Date": datetime.now(UTC).isoformat()})
        assert_401(resp)


async def test_wrong_signature(client_factory: Any) -> None:
    client = client_factory((ADMIN[0], "not-the-secret-key-of-this-access-key00"))
    resp = await client.request("GET", "/auth", params={"echo": "x"})
    assert_401(resp)
    assert "Signature mismatch" in resp.body["msg"]


async def test_signature_covers_method_and_path(admin: SignedClient) -> None:
    # signed as GET /auth?echo=x but sent as POST: the server must not accept it
    resp = await admin.request("POST", "/auth", params={"echo": "x"}, sign_method="GET")
    assert_401(resp)


async def test_date_too_far_off(admin: SignedClient) -> None:
    for delta in (timedelta(minutes=16), timedelta(minutes=-16)):
        resp = await admin.request("GET", "/auth", params={"echo": "x"}, date=datetime.now(UTC) + delta)
        assert_401(resp)
        assert "15 minutes" in resp.body["msg"]
    ok = await admin.request("GET", "/auth", params={"echo": "x"}, date=datetime.now(UTC) - timedelta(minutes=14))
    assert ok.status == 200


async def test_unknown_access_key(client_factory: Any) -> None:
    client = client_factory(("AKIANOSUCHKEYEXAMPLE", "whatever-secret"))
    assert_401(await client.request("GET", "/auth", params={"echo": "x"}))


async def test_inactive_keypair_and_inactive_user(admin: SignedClient, user: SignedClient) -> None:
    assert (await user.request("GET", "/auth", params={"echo": "x"})).status == 200
    body = await admin.gql('mutation { modify_keypair(access_key: "AKIANABBDUSEREXAMPLE", props: {is_active: false}) { ok msg } }')
    assert body["data"]["modify_keypair"]["ok"] is True
    assert_401(await user.request("GET", "/auth", params={"echo": "x"}))
    await admin.gql('mutation { modify_keypair(access_key: "AKIANABBDUSEREXAMPLE", props: {is_active: true}) { ok } }')
    assert (await user.request("GET", "/auth", params={"echo": "x"})).status == 200
    body = await admin.gql('mutation { modify_user(email: "user@lablup.com", props: {status: "inactive"}) { ok msg } }')
    assert body["data"]["modify_user"]["ok"] is True
    assert_401(await user.request("GET", "/auth", params={"echo": "x"}))


async def test_unknown_api_versions(client_factory: Any, anonymous: SignedClient) -> None:
    for version in ("v99.20990101", "v3.20170615", "garbage", "v7.2023"):
        client = client_factory(ADMIN, api_version=version)
        resp = await client.request("GET", "/auth", params={"echo": "x"})
        assert resp.status == 400, (version, resp.body)
        assert resp.content_type == "application/problem+json"
        assert resp.body["type"].endswith("/unsupported-api-version")
    older = client_factory(ADMIN, api_version="v4.20190615")
    assert (await older.request("GET", "/auth", params={"echo": "x"})).status == 200
    legacy = await anonymous.request("GET", "/", headers={"X-BackendAI-Version": None,  # type: ignore[dict-item]
                                                          "X-Sorna-Version": "v99.20990101"})
    assert legacy.status == 400
    resp = await anonymous.request("GET", "/v99")
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    resp = await anonymous.request("GET", "/v4/")
    assert resp.status == 200 and resp.body["version"] == "v4.20190615"


async def test_rate_limit_window(admin: SignedClient, client_factory: Any) -> None:
    body = await admin.gql("""mutation {
        create_keypair(user_id: "user@lablup.com", props: {rate_limit: 3, resource_policy: "default"}) {
            ok msg keypair { access_key secret_key } } }""")
    kp = body["data"]["create_keypair"]
    assert kp["ok"], kp
    limited = client_factory((kp["keypair"]["access_key"], kp["keypair"]["secret_key"]))
    remaining = []
    for _ in range(3):
        resp = await limited.request("GET", "/auth", params={"echo": "x"})
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Limit"] == "3"
        assert resp.headers["X-RateLimit-Window"] == "900"
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    resp = await limited.request("GET", "/auth", params={"echo": "x"})
    assert resp.status == 429
    assert resp.content_type == "application/problem+json"
    assert resp.body["type"].endswith("/too-many-requests")
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    # other keypairs are not affected
    assert (await admin.request("GET", "/auth", params={"echo": "x"})).status == 200


async def test_method_override(admin: SignedClient) -> None:
    # POST carrying X-Method-Override: GET is routed (and authorized) as the GET handler
    resp = await admin.request("POST", "/manager/announcement", headers={"X-Method-Override": "GET"}, json_body={})
    assert resp.status == 200, resp.body
    assert resp.body == {"enabled": False, "message": ""}
    resp = await admin.request("POST", "/config/resource-slots", headers={"X-Method-Override": "GET"})
    assert resp.status == 200 and resp.body["cpu"] == "count"


async def test_authorize_with_password(anonymous: SignedClient) -> None:
    resp = await anonymous.request("POST", "/auth/authorize", json_body={
        "type": "keypair", "domain": "default", "username": "user@lablup.com", "password": USER[1]})
    assert resp.status == 200, resp.body
    assert resp.body["data"]["access_key"] == USER[0]
    assert resp.body["data"]["secret_key"] == USER[1]
    assert resp.body["data"]["role"] == "user"
    bad = await anonymous.request("POST", "/auth/authorize", json_body={
        "type": "keypair", "domain": "default", "username": "user@lablup.com", "password": "wrong"})
    assert_401(bad)
    missing = await anonymous.request("POST", "/auth/authorize", json_body={"type": "keypair"})
    assert missing.status == 400 and "domain" in missing.body["msg"]


async def test_update_password_and_full_name(user: SignedClient, anonymous: SignedClient) -> None:
    resp = await user.request("POST", "/auth/update-password", json_body={
        "old_password": "wrong", "new_password": "n3w-pass", "new_password2": "n3w-pass"})
    assert resp.status == 401
    resp = await user.request("POST", "/auth/update-password", json_body={
        "old_password": USER[1], "new_password": "n3w-pass", "new_password2": "other"})
    assert resp.status == 400
    resp = await user.request("POST", "/auth/update-password", json_body={
        "old_password": USER[1], "new_password": "n3w-pass", "new_password2": "n3w-pass"})
    assert resp.status == 200
    login = await anonymous.request("POST", "/auth/authorize", json_body={
        "type": "keypair", "domain": "default", "username": "user@lablup.com", "password": "n3w-pass"})
    assert login.status == 200
    resp = await user.request("POST", "/auth/update-full-name", json_body={"email": "user@lablup.com", "full_name": "New Name"})
    assert resp.status == 200
    resp = await user.request("POST", "/auth/update-full-name", json_body={"email": "admin@lablup.com", "full_name": "Hijack"})
    assert resp.status == 403
    body = await user.gql("query { user { full_name } }")
    assert body["data"]["user"]["full_name"] == "New Name"


async def test_ssh_keypair(user: SignedClient) -> None:
    resp = await user.request("GET", "/auth/ssh-keypair")
    assert resp.status == 200 and resp.body == {"ssh_public_key": None}
    resp = await user.request("PATCH", "/auth/ssh-keypair")
    assert resp.status == 200
    assert resp.body["ssh_public_key"].startswith("ssh-ed25519 ")
    assert "PRIVATE KEY" in resp.body["ssh_private_key"]
    got = await user.request("GET", "/auth/ssh-keypair")
    assert got.body["ssh_public_key"] == resp.body["ssh_public_key"]
    bad = await user.request("POST", "/auth/ssh-keypair", json_body={"pubkey": "nonsense", "privkey": "x"})
    assert bad.status == 400


async def test_role_report(user: SignedClient, admin: SignedClient) -> None:
    gid = "2de2b969-1d04-48a6-af16-0bc8adb3c831"
    assert (await user.request("GET", "/auth/role", params={"group": gid})).body == {
        "global_role": "user", "domain_role": "user", "group_role": "user"}
    assert (await admin.request("GET", "/auth/role")).body == {"global_role": "superadmin", "domain_role": "admin"}
