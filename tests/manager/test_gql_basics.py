"""The admin GraphQL API with the query shapes the official client sends."""

from __future__ import annotations

import json

from manager.helpers import SignedClient

KEYPAIR_LIST = """
query($limit:Int!, $offset:Int!, $is_active: Boolean, $domain_name: String, $filter: String, $order: String) {
  keypair_list(limit:$limit, offset:$offset, is_active:$is_active, domain_name:$domain_name, filter:$filter, order:$order) {
    items { user_id projects user_info { full_name } access_key secret_key is_active is_admin created_at last_used resource_policy rate_limit concurrency_used }
    total_count
  }
}"""


async def test_keypair_list_shape_and_field_order(admin: SignedClient) -> None:
    body = await admin.gql(KEYPAIR_LIST, {"limit": 20, "offset": 0, "is_active": None, "domain_name": None,
                                          "filter": None, "order": None})
    assert "errors" not in body, body
    data = body["data"]["keypair_list"]
    assert data["total_count"] == 3
    first = data["items"][0]
    assert list(first) == ["user_id", "projects", "user_info", "access_key", "secret_key", "is_active",
                           "is_admin", "created_at", "last_used", "resource_policy", "rate_limit", "concurrency_used"]
    by_key = {i["access_key"]: i for i in data["items"]}
    assert by_key["AKIAIOSFODNN7EXAMPLE"]["user_id"] == "admin@lablup.com"
    assert by_key["AKIAIOSFODNN7EXAMPLE"]["projects"] == ["default"]
    assert by_key["AKIAIOSFODNN7EXAMPLE"]["user_info"] == {"full_name": "Admin Lablup"}


async def test_user_sees_only_own_keypairs(user: SignedClient) -> None:
    body = await user.gql(KEYPAIR_LIST, {"limit": 20, "offset": 0})
    items = body["data"]["keypair_list"]["items"]
    assert [i["access_key"] for i in items] == ["AKIANABBDUSEREXAMPLE"]


async def test_domain_and_slots_are_json_strings(admin: SignedClient) -> None:
    body = await admin.gql("query { domains { name total_resource_slots allowed_vfolder_hosts scaling_groups } }")
    assert "errors" not in body, body
    [dom] = body["data"]["domains"]
    assert dom["name"] == "default"
    assert json.loads(dom["total_resource_slots"]) == {}
    assert "local:volume1" in json.loads(dom["allowed_vfolder_hosts"])
    assert dom["scaling_groups"] == ["default"]
