"""Our `backend.ai` against a real manager: config, admin listings, errors and exit codes."""

from __future__ import annotations

import json
from typing import Any

from manager.helpers import ADMIN, USER, parse_table


async def test_config_shows_settings_and_negotiated_versions(cli: Any) -> None:
    r = await cli("config")
    assert "API endpoint: " + cli.endpoint in r.out
    assert "Server version: " in r.out and "(API: v7.20230615)" in r.out
    assert "Negotiated API version: v7.20230615" in r.out
    assert f'Access key: "{ADMIN[0]}"' in r.out
    assert ADMIN[1] not in r.out                      # the secret key is masked
    assert 'Domain name: "default"' in r.out


async def test_admin_user_list_table_and_json(cli: Any) -> None:
    rows = {r["Email"]: r for r in parse_table((await cli("admin", "user", "list")).out)}
    assert {"admin@lablup.com", "user@lablup.com"} <= set(rows)
    assert rows["admin@lablup.com"]["Role"] == "superadmin"
    assert rows["admin@lablup.com"]["Groups"] == "default"
    data = json.loads((await cli("--output", "json", "admin", "user", "list")).out)
    assert data["total_count"] == len(data["items"]) >= 2
    assert {i["email"] for i in data["items"]} >= {"admin@lablup.com", "user@lablup.com"}


async def test_admin_listings(cli: Any) -> None:
    domains = parse_table((await cli("admin", "domain", "list")).out)
    assert [d["Name"] for d in domains] == ["default"]
    groups = parse_table((await cli("admin", "group", "list")).out)
    assert "default" in [g["Name"] for g in groups]
    keypairs = {k["Access Key"]: k for k in parse_table((await cli("admin", "keypair", "list")).out)}
    assert keypairs[ADMIN[0]]["Email"] == "admin@lablup.com" and keypairs[ADMIN[0]]["Admin?"] == "True"
    policies = parse_table((await cli("admin", "keypair-resource-policy", "list")).out)
    assert "default" in [p["Name"] for p in policies]
    sgroups = parse_table((await cli("admin", "scaling-group", "list")).out)
    assert "default" in [s["Name"] for s in sgroups]
    info = (await cli("admin", "keypair", "info")).out
    assert ADMIN[0] in info
    r = await cli("admin", "domain", "info", "default")
    assert dict(parse_table(r.out)[i].values() for i in range(1))  # a Field/Value table


async def test_ps_with_no_sessions(cli: Any) -> None:
    r = await cli("ps")
    assert "There are no matching active sessions." in r.out


async def test_errors_are_one_line_and_exit_nonzero(cli: Any) -> None:
    r = await cli("admin", "user", "list", "--filter", "no_such_column == 1", ok=False)
    assert r.code == 1
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.err, r.err
    assert "(HTTP 400)" in lines[0] and "no_such_column" in lines[0]
    # a normal user sees only themself in the user list (scoped by the server)
    rows = parse_table((await cli("admin", "user", "list", keypair=USER)).out)
    assert [row["Email"] for row in rows] == ["user@lablup.com"]
    bad = await cli("admin", "domain", "info", "no-such-domain", ok=False)
    assert bad.code == 1 and "Traceback" not in bad.err, bad.err
    usage = await cli("run", "python", ok=False)     # nothing to run
    assert usage.code == 4 and "-c CODE" in usage.err
