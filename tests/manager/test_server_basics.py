"""The request pipeline against a real manager: version check, signing, problem+json."""

from __future__ import annotations

from manager.helpers import SignedClient


async def test_version_check_is_anonymous(anonymous: SignedClient) -> None:
    resp = await anonymous.request("GET", "/")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert resp.body["version"] == "v7.20230615"
    assert resp.body["manager"]


async def test_auth_test_echo(admin: SignedClient) -> None:
    resp = await admin.request("GET", "/auth", params={"echo": "hello"})
    assert resp.status == 200, resp.body
    assert resp.body == {"authorized": "yes", "echo": "hello"}
    assert resp.headers["X-RateLimit-Window"] == "900"
    assert int(resp.headers["X-RateLimit-Limit"]) == 30000


async def test_missing_authorization_is_401(anonymous: SignedClient) -> None:
    resp = await anonymous.request("GET", "/auth", params={"echo": "x"})
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    assert resp.body["type"] == "https://api.backend.ai/probs/unauthorized"


async def test_unknown_route_is_404_problem(admin: SignedClient) -> None:
    resp = await admin.request("GET", "/no-such-thing")
    assert resp.status == 404
    assert resp.content_type == "application/problem+json"
