"""`backend.ai admin` mutations against a real manager: domains, projects, users, keypairs."""

from __future__ import annotations

import json
from typing import Any

from manager.helpers import USER, parse_table


def _fields(out: str) -> dict[str, str]:
    return {r["Field"]: r["Value"] for r in parse_table(out)}


async def test_user_and_keypair_lifecycle(cli: Any) -> None:
    r = await cli("admin", "user", "add", "default", "new@example.com", "s3cret-pass", "-n", "New Person")
    f = _fields(r.out)
    assert f["ok"] == "True" and f["email"] == "new@example.com" and f["Action"] == "add"
    rows = {u["Email"]: u for u in parse_table((await cli("admin", "user", "list")).out)}
    assert rows["new@example.com"]["Full Name"] == "New Person" and rows["new@example.com"]["Role"] == "user"

    kp = _fields((await cli("admin", "keypair", "add", "new@example.com")).out)
    assert kp["ok"] == "True" and kp["access_key"].startswith("AK")
    listed = json.loads((await cli("--output", "json", "admin", "keypair", "list",
                                   "-u", "new@example.com")).out)
    keys = [k["access_key"] for k in listed["items"]]
    assert kp["access_key"] in keys and len(keys) == 2      # with the main keypair made with the user
    assert {k["user_id"] for k in listed["items"]} == {"new@example.com"}
    # the new keypair works: the new user can run the CLI with it
    assert "new@example.com" in (await cli("admin", "user", "info", keypair=(kp["access_key"], kp["secret_key"]))).out

    await cli("admin", "keypair", "deactivate", kp["access_key"])
    inactive = parse_table((await cli("admin", "keypair", "list", "--is-active", "false")).out)
    assert kp["access_key"] in [k["Access Key"] for k in inactive]
    denied = await cli("admin", "user", "info", keypair=(kp["access_key"], kp["secret_key"]), ok=False)
    assert denied.code == 1 and "(HTTP 401)" in denied.err
    await cli("admin", "keypair", "update", kp["access_key"], "--is-active", "true", "-r", "500")
    again = {k["Access Key"]: k for k in parse_table((await cli("admin", "keypair", "list")).out)}
    assert again[kp["access_key"]]["Rate Limit"] == "500"
    await cli("admin", "keypair", "delete", kp["access_key"])

    await cli("admin", "user", "update", "new@example.com", "-s", "inactive")
    assert parse_table((await cli("admin", "user", "list", "-s", "inactive")).out)[0]["Email"] == "new@example.com"
    await cli("admin", "user", "purge", "new@example.com", "--yes")
    assert "new@example.com" not in (await cli("admin", "user", "list")).out


async def test_domain_and_project_lifecycle(cli: Any) -> None:
    await cli("admin", "domain", "add", "lab", "-d", "A lab", "--total-resource-slots", '{"cpu": "8"}')
    dom = _fields((await cli("admin", "domain", "info", "lab")).out)
    assert dom["Description"] == "A lab" and dom["Total Resource Slots"] == "cpu:8"
    await cli("admin", "domain", "update", "lab", "-d", "Renamed lab")
    assert _fields((await cli("admin", "domain", "info", "lab")).out)["Description"] == "Renamed lab"

    r = _fields((await cli("admin", "group", "add", "lab", "team-a")).out)
    assert r["ok"] == "True"
    groups = {g["Name"]: g for g in parse_table((await cli("admin", "group", "list", "-d", "lab")).out)}
    gid = groups["team-a"]["ID"]
    await cli("admin", "group", "update", gid, "-d", "Team A")
    assert _fields((await cli("admin", "group", "info", gid)).out)["Description"] == "Team A"
    await cli("admin", "group", "delete", gid)
    await cli("admin", "group", "purge", gid, "-y")
    assert "team-a" not in (await cli("admin", "group", "list", "-d", "lab")).out

    no = await cli("admin", "domain", "purge", "lab", input="n\n", ok=False)
    assert "Cancelled." in no.err
    await cli("admin", "domain", "delete", "lab")
    await cli("admin", "domain", "purge", "lab", "-y")
    assert [d["Name"] for d in parse_table((await cli("admin", "domain", "list")).out)] == ["default"]


async def test_mutation_failures(cli: Any) -> None:
    dup = await cli("admin", "user", "add", "default", "user@lablup.com", "x-password", ok=False)
    assert dup.code == 1 and "Traceback" not in dup.err
    denied = await cli("admin", "domain", "add", "nope", keypair=USER, ok=False)
    assert denied.code == 1 and "Traceback" not in denied.err
    bad = await cli("admin", "domain", "add", "x", "--total-resource-slots", "{cpu", ok=False)
    assert bad.code == 4 and "must be JSON" in bad.err


async def test_policies_resource_groups_and_image_aliases(cli: Any) -> None:
    await cli("admin", "keypair-resource-policy", "add", "small", "--max-concurrent-sessions", "2",
              "--total-resource-slots", '{"cpu": "2"}')
    pol = _fields((await cli("admin", "keypair-resource-policy", "info", "small")).out)
    assert pol["Max Concurrent Sessions"] == "2" and '"cpu": "2"' in pol["Total Resource Slots"]
    await cli("admin", "keypair-resource-policy", "update", "small", "--idle-timeout", "60")
    assert _fields((await cli("admin", "keypair-resource-policy", "info", "small")).out)["Idle Timeout"] == "60"
    await cli("admin", "keypair-resource-policy", "delete", "small")
    assert "small" not in (await cli("admin", "keypair-resource-policy", "list")).out

    await cli("admin", "scaling-group", "add", "gpu-nodes", "-d", "GPUs", "--scheduler", "drf")
    await cli("admin", "scaling-group", "associate-scaling-group", "gpu-nodes", "default")
    sg = _fields((await cli("admin", "scaling-group", "info", "gpu-nodes")).out)
    assert sg["Scheduler"] == "drf" and sg["Description"] == "GPUs"
    await cli("admin", "scaling-group", "update", "gpu-nodes", "--scheduler", "lifo")
    assert _fields((await cli("admin", "scaling-group", "info", "gpu-nodes")).out)["Scheduler"] == "lifo"
    await cli("admin", "scaling-group", "dissociate-scaling-group", "gpu-nodes", "default")
    await cli("admin", "scaling-group", "delete", "gpu-nodes")
    assert "gpu-nodes" not in (await cli("admin", "scaling-group", "list")).out

    bad = await cli("admin", "image", "alias", "py", "no/such:image", ok=False)
    assert bad.code == 1 and "Traceback" not in bad.err
