"""POST /session/_/create-from-template: a stored template's values as defaults, the request's
own values winning, and the same checks as POST /session."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from ai.backend.common.status import SessionTypes
from manager.helpers import USER, SignedClient
from manager.sessions_api.sesshelpers import (
    IMAGE,
    OTHER_IMAGE,
    count_rows,
    kernel_rows,
    session_rows,
)
from manager.vfolders.vfhelpers import add_user

TEMPLATE = """
api_version: v1
kind: taskTemplate
metadata:
  name: nightly-job
  tag: from-template
spec:
  type: batch
  kernel:
    image: python
    environ:
      MYCONFIG: XXX
      LEVEL: "1"
    run:
      bootstrap: "pip install -r requirements.txt"
      startup_command: "python train.py"
  resources:
    cpu: '2'
    mem: 1g
"""


async def _template(client: SignedClient) -> str:
    resp = await client.request("POST", "/template/session", json_body={
        "payload": TEMPLATE, "group_name": "default", "domain_name": "default"})
    assert resp.status == 200, resp.body
    return str(resp.body[0]["id"])


# what the official client 23.9 sends for `session create-from-template ID --name ... -e LEVEL=2`
def _request(template_id: str | None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "template_id": template_id, "tag": None, "domain": "default", "group": "default", "name": "from-tpl",
        "bootstrap_script": None, "enqueueOnly": True, "maxWaitSeconds": 0, "dependencies": None,
        "callbackURL": None, "reuseIfExists": True, "startupCommand": None, "owner_access_key": None,
        "type": None, "starts_at": None, "clusterSize": 1, "clusterMode": "single-node",
        "config": {"mounts": [], "mount_map": {}, "environ": {"LEVEL": "2"}, "resources": {},
                   "resource_opts": {}, "scalingGroup": None},
    }
    body.update(changes)
    return body


async def test_template_values_are_defaults(mgr: Any, user: SignedClient) -> None:
    tid = await _template(user)
    resp = await user.request("POST", "/session/_/create-from-template", json_body=_request(tid))
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    (row,) = await session_rows(mgr.db)
    assert row.id == sid and row.name == "from-tpl" and row.images == [IMAGE]
    assert row.session_type == SessionTypes.BATCH and row.startup_command == "python train.py"
    assert row.bootstrap_script == "pip install -r requirements.txt" and row.tag == "from-template"
    assert row.environ == {"MYCONFIG": "XXX", "LEVEL": "2"}          # the request's value wins
    (k,) = await kernel_rows(mgr.db, sid)
    assert k.requested_slots == {"cpu": Decimal(2), "mem": Decimal(2**30)}


async def test_request_values_override_the_template(mgr: Any, user: SignedClient) -> None:
    tid = await _template(user)
    resp = await user.request("POST", "/session/_/create-from-template", json_body=_request(
        tid, name="override", image=OTHER_IMAGE, type="interactive", tag="mine",
        config={"resources": {"cpu": 1}, "environ": {}}))
    assert resp.status == 201, resp.body
    (row,) = await session_rows(mgr.db)
    assert row.images == [OTHER_IMAGE] and row.session_type == SessionTypes.INTERACTIVE and row.tag == "mine"
    (k,) = await kernel_rows(mgr.db, row.id)
    assert k.requested_slots == {"cpu": Decimal(1), "mem": Decimal(2**30)}


async def test_bad_template_requests(mgr: Any, user: SignedClient, client_factory: Any) -> None:
    tid = await _template(user)
    resp = await user.request("POST", "/session/_/create-from-template", json_body=_request(None))
    assert resp.status == 400 and "template_id" in resp.body["msg"]
    resp = await user.request("POST", "/session/_/create-from-template", json_body=_request(str(uuid.uuid4())))
    assert resp.status == 404
    resp = await user.request("POST", "/session/_/create-from-template", json_body=_request("not-an-id"))
    assert resp.status == 400
    # another user's template is not theirs to use
    other_keys, _ = await add_user(mgr.db, "templ-other")
    other = client_factory(other_keys)
    resp = await other.request("POST", "/session/_/create-from-template", json_body=_request(tid))
    assert resp.status == 404, resp.body
    resp = await user.request("POST", "/session/_/create-from-template", json_body=_request(
        tid, name="bad-res", config={"resources": {"mem": "1m"}}))
    assert resp.status == 400 and "config.resources.mem" in resp.body["msg"]
    assert await count_rows(mgr.db) == (0, 0)


async def test_official_client_create_from_template(mgr: Any, user: SignedClient, run_cli: Any) -> None:
    tid = await _template(user)
    out = await run_cli("session", "create-from-template", "--enqueue-only", "-t", "cli-tpl", "-e", "LEVEL=3",
                        tid, keypair=USER)
    (row,) = await session_rows(mgr.db)
    assert row.name == "cli-tpl", out
    assert "Session ID cli-tpl is enqueued for scheduling." in out, out
    assert row.environ == {"MYCONFIG": "XXX", "LEVEL": "3"} and row.images == [IMAGE]
    assert row.startup_command == "python train.py"
