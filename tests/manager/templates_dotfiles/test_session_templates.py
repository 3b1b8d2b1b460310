"""`/template/session` against a real manager: YAML/JSON payloads, validation errors,
owner scoping, admin listing, update and delete."""

from __future__ import annotations

import json
from typing import Any

import yaml

from manager.helpers import SignedClient

TEMPLATE = """
api_version: v1
kind: taskTemplate
metadata:
  name: template1234
  tag: example-tag
spec:
  kernel:
    environ:
      MYCONFIG: XXX
    git:
      branch: '19.09'
      repository: https://example.com/repo.git
      destinationDir: /home/work/repo
    image: python:3.6-ubuntu18.04
  resources:
    cpu: '2'
    mem: 4g
  mounts:
    test-vfolder:
  sessionType: interactive
"""


async def _create(client: SignedClient, payload: str, **extra: Any) -> Any:
    return await client.request("POST", "/template/session",
                                json_body={"payload": payload, "group_name": "default", "domain_name": "default",
                                           **extra})


async def test_create_get_update_delete(user: SignedClient, admin: SignedClient) -> None:
    r = await _create(user, TEMPLATE)
    assert r.status == 200, r.body
    [created] = r.body
    tid = created["id"]
    r = await user.request("GET", f"/template/session/{tid}", params={"format": "yaml"})
    assert r.status == 200 and r.content_type == "text/yaml"
    doc = yaml.safe_load(r.body if isinstance(r.body, str) else json.dumps(r.body))
    assert doc["metadata"]["name"] == "template1234"
    assert doc["spec"]["kernel"]["image"] == "python:3.6-ubuntu18.04"
    assert doc["spec"]["type"] == "interactive"
    r = await user.request("GET", f"/template/session/{tid}", params={"format": "json"})
    assert r.body["spec"]["resources"] == {"cpu": "2", "mem": "4g"}

    listed = (await user.request("GET", "/template/session", json_body={"all": False})).body
    assert [(t["id"], t["name"], t["is_owner"], t["type"]) for t in listed] == [(tid, "template1234", True, "task")]
    assert {"created_at", "user", "group"} <= set(listed[0])

    changed = TEMPLATE.replace("template1234", "renamed")
    r = await user.request("PUT", f"/template/session/{tid}", json_body={"payload": changed})
    assert r.status == 200, r.body
    r = await user.request("GET", f"/template/session/{tid}")
    assert r.body["metadata"]["name"] == "renamed"

    # another user cannot see it; a superadmin listing "all" can
    other = (await admin.request("GET", "/template/session", json_body={"all": False})).body
    assert tid not in [t["id"] for t in other]
    everyone = (await admin.request("GET", "/template/session", json_body={"all": True})).body
    assert tid in [t["id"] for t in everyone]
    assert [t["is_owner"] for t in everyone if t["id"] == tid] == [False]

    r = await user.request("DELETE", f"/template/session/{tid}")
    assert r.status == 200 and r.body == {"success": True}
    r = await user.request("GET", f"/template/session/{tid}")
    assert r.status == 404 and r.content_type == "application/problem+json"


async def test_json_payload_and_multiple_documents(user: SignedClient) -> None:
    doc = yaml.safe_load(TEMPLATE)
    r = await _create(user, json.dumps([doc, {**doc, "metadata": {"name": "second"}}]))
    assert r.status == 200, r.body
    assert len(r.body) == 2
    names = sorted(t["name"] for t in (await user.request("GET", "/template/session")).body)
    assert names == ["second", "template1234"]


async def test_bad_payloads_are_400_without_writes(user: SignedClient) -> None:
    cases = {
        "not: [valid": "YAML",
        "kind: taskTemplate\nmetadata: {name: x}\nspec: {kernel: {}}\n": "image",
        "api_version: v1\nkind: other\nmetadata: {name: x}\nspec: {kernel: {image: python}}\n": "kind",
        "- just\n- strings\n": "mapping",
    }
    for payload, needle in cases.items():
        r = await _create(user, payload)
        assert r.status == 400, (payload, r.body)
        assert r.content_type == "application/problem+json"
        assert needle in json.dumps(r.body), (needle, r.body)
    r = await user.request("POST", "/template/session", json_body={"group_name": "default"})
    assert r.status == 400 and "payload" in r.body["msg"]
    assert (await user.request("GET", "/template/session")).body == []
    r = await user.request("GET", "/template/session/not-a-uuid")
    assert r.status == 400


async def test_others_templates_are_not_reachable(user: SignedClient, domain_admin: SignedClient,
                                                  admin: SignedClient) -> None:
    r = await _create(admin, TEMPLATE)
    tid = r.body[0]["id"]
    for method in ("GET", "DELETE"):
        assert (await user.request(method, f"/template/session/{tid}")).status == 404
    r = await user.request("PUT", f"/template/session/{tid}", json_body={"payload": TEMPLATE})
    assert r.status == 404
    r = await _create(user, TEMPLATE, owner_access_key="AKIAIOSFODNN7EXAMPLE")
    assert r.status == 403
    # a domain admin manages templates in its domain
    assert (await domain_admin.request("GET", f"/template/session/{tid}")).status == 200
