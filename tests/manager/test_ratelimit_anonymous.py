"""Anonymous callers are rate-limited per client IP (manager.anonymous-rate-limit)."""

from __future__ import annotations

from typing import Any

import pytest

from manager.helpers import SignedClient


@pytest.fixture
def local_config(local_config: dict[str, Any]) -> dict[str, Any]:
    local_config["manager"]["anonymous-rate-limit"] = 2
    return local_config


async def test_anonymous_limit(anonymous: SignedClient, admin: SignedClient) -> None:
    first = await anonymous.request("GET", "/")
    assert first.status == 200 and first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert (await anonymous.request("GET", "/")).status == 200
    third = await anonymous.request("GET", "/")
    assert third.status == 429 and third.content_type == "application/problem+json"
    # signed requests from the same address count against their keypair, not the address
    assert (await admin.request("GET", "/auth", params={"echo": "x"})).status == 200
