"""The official client `backend.ai-client==23.9.10` (its own venv, scripts/official-client.sh)
driving a real manager: each command runs as a subprocess and its printed table is checked."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.common import msgpack
from ai.backend.common.redis_helper import REDIS_STAT_DB, connect
from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.common.types import HostPortPair
from ai.backend.manager.config import SharedConfig
from ai.backend.manager.models import sessions
from ai.backend.manager.services import image_scan
from ai.backend.manager.services import images as image_service
from manager.helpers import ADMIN, USER, SignedClient, parse_table
from manager.rows import add_agent, add_session

DEFAULT_CLI = Path.home() / ".cache" / "backend.ai" / "official-client-23.9.10" / "bin" / "backend.ai"


@pytest.fixture
def official_cli() -> str:
    path = os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or str(DEFAULT_CLI)
    if not Path(path).is_file():
        pytest.fail(f"the official client is missing at {path}: run scripts/official-client.sh "
                    "(scripts/test.sh exports BACKEND_TEST_OFFICIAL_CLIENT)")
    return path


@pytest.fixture
def run_cli(official_cli: str, manager: Any, tmp_path: Path) -> Any:
    async def run(*args: str, keypair: tuple[str, str] = ADMIN, ok: bool = True) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "BACKEND_ENDPOINT": manager.url + "/",
            "BACKEND_ENDPOINT_TYPE": "api",
            "BACKEND_ACCESS_KEY": keypair[0],
            "BACKEND_SECRET_KEY": keypair[1],
            "LANG": "C.UTF-8",
            "COLUMNS": "400",
        }
        proc = await asyncio.create_subprocess_exec(
            official_cli, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        text = out.decode() + err.decode()
        if ok:
            assert proc.returncode == 0, f"backend.ai {' '.join(args)} failed:\n{text}"
        return text

    return run


async def test_config_negotiates_with_our_server(run_cli: Any) -> None:
    out = await run_cli("config")
    assert "Server version: 23.09.0 (API: v7.20230615)" in out
    assert "Negotiated API version: (7, '20230615')" in out
    assert 'Access key: "AKIAIOSFODNN7EXAMPLE"' in out


async def test_admin_user_list(run_cli: Any) -> None:
    rows = {r["Email"]: r for r in parse_table(await run_cli("admin", "user", "list"))}
    assert set(rows) == {"admin@lablup.com", "user@lablup.com", "domain-admin@lablup.com"}
    admin = rows["admin@lablup.com"]
    assert admin["UUID"] == "f38dea23-50fa-42a0-b5ae-338f5f4693f4"
    assert admin["Username"] == "admin"
    assert admin["Role"] == "superadmin"
    assert admin["Full Name"] == "Admin Lablup"
    assert admin["Status"] == "active"
    assert admin["Domain Name"] == "default"
    assert admin["Groups"] == "default"
    assert admin["Main Access Key"] == "AKIAIOSFODNN7EXAMPLE"
    assert rows["domain-admin@lablup.com"]["Role"] == "admin"
    assert rows["user@lablup.com"]["Role"] == "user"


async def test_admin_keypair_list_as_admin_and_as_user(run_cli: Any) -> None:
    rows = {r["Access Key"]: r for r in parse_table(await run_cli("admin", "keypair", "list"))}
    assert set(rows) == {"AKIAIOSFODNN7EXAMPLE", "AKIANABBDUSEREXAMPLE", "AKIAHUKCHDEZGEXAMPLE"}
    user = rows["AKIANABBDUSEREXAMPLE"]
    assert user["Email"] == "user@lablup.com"
    assert user["Projects"] == "[default]"
    assert user["Full Name"] == "User Lablup"
    assert user["Secret Key"] == USER[1]
    assert user["Active?"] == "True" and user["Admin?"] == "False"
    assert user["Res.Policy"] == "default" and user["Rate Limit"] == "30000" and user["Concur.Used"] == "0"
    assert rows["AKIAIOSFODNN7EXAMPLE"]["Admin?"] == "True"
    assert rows["AKIAIOSFODNN7EXAMPLE"]["Last Used"] != "(null)"   # this very listing used it
    mine = parse_table(await run_cli("admin", "keypair", "list", keypair=USER))
    assert [r["Access Key"] for r in mine] == ["AKIANABBDUSEREXAMPLE"]


async def test_admin_scaling_group_domain_group_lists(run_cli: Any) -> None:
    [sg] = parse_table(await run_cli("admin", "scaling-group", "list"))
    assert sg["Name"] == "default" and sg["Scheduler"] == "fifo" and sg["Driver"] == "static"
    assert sg["Active?"] == "True" and sg["Public?"] == "True"
    [dom] = parse_table(await run_cli("admin", "domain", "list"))
    assert dom["Name"] == "default" and dom["Active?"] == "True"
    assert dom["Allowed Docker Registries"] == "[cr.backend.ai]"
    assert '"local:volume1"' in dom["Allowed Vfolder Hosts"]
    [grp] = parse_table(await run_cli("admin", "group", "list"))
    assert grp["ID"] == "2de2b969-1d04-48a6-af16-0bc8adb3c831" and grp["Name"] == "default"


async def test_admin_image_list_after_a_local_rescan(run_cli: Any, manager: Any) -> None:
    report = await image_scan.rescan(manager.db, SharedConfig(manager.etcd), "local")
    assert report.added >= 1
    async with manager.db.begin() as conn:
        await image_service.alias(conn, "python", "cr.backend.ai/stable/python:3.11-debian12")
    rows = {(r["Registry"], r["Name"], r["Tag"]): r for r in parse_table(await run_cli("admin", "image", "list"))}
    py = rows[("cr.backend.ai", "stable/python", "3.11-debian12")]
    assert py["Architecture"] == "x86_64"
    assert py["Digest"].startswith("sha256:")
    assert py["Aliases"] == "[python]"
    assert py["Size Bytes"].endswith("M")


async def test_admin_agent_list(run_cli: Any, manager: Any, test_id: str) -> None:
    alive, lost = f"i-agent-{test_id}", f"i-lost-{test_id}"   # unique: stats live in the shared Redis
    await add_agent(manager.db, alive, {"cpu": "8", "mem": "16g"})
    await add_agent(manager.db, lost, {"cpu": "2", "mem": "1g"}, status=AgentStatus.LOST)
    await add_session(manager.db, "busy", agent=alive, slots={"cpu": "2", "mem": "4g"})
    redis = connect(HostPortPair.parse(await manager.etcd.get("config/redis/addr")), db=REDIS_STAT_DB)
    try:
        # the layout our agents publish (ai.backend.agent.stats): flat node metrics
        await redis.set(alive, msgpack.packb({
            "cpu_util": {"current": "12.5", "capacity": "800", "unit_hint": "percent"},
            "mem": {"current": str(3 << 30), "capacity": str(16 << 30), "unit_hint": "bytes"},
            "last_updated": 1.0,
        }))
        rows = parse_table(await run_cli("admin", "agent", "list"))
        info = await run_cli("admin", "agent", "info", alive)
    finally:
        await redis.delete(alive)
        await redis.aclose()
    assert [r["ID"] for r in rows] == [alive]    # ALIVE ones by default
    agent = rows[0]
    assert agent["Status"] == "ALIVE" and agent["Architecture"] == "x86_64"
    assert agent["Scaling Group"] == "default" and agent["Region"] == "local"
    assert agent["CPU Usage (%)"] == "12.5"
    assert agent["Used Memory (MiB)"] == "3072"
    assert agent["Available Slots"] == "cpu:8, mem:16.0G"
    assert agent["Occupied Slots"] == "cpu:2, mem:4.0G"
    assert "cpu_util: 12.5 % (0 cores), mem: 3.0G / 16.0G" in info   # live stat as `admin agent info` shows it
    lost_rows = parse_table(await run_cli("admin", "agent", "list", "-s", "LOST"))
    assert [r["ID"] for r in lost_rows] == [lost]


async def test_keypair_add_update_delete(run_cli: Any, admin: SignedClient) -> None:
    out = await run_cli("admin", "keypair", "add", "user@lablup.com", "default", "-r", "1234")
    result = {r["Field"]: r["Value"] for r in parse_table(out)}
    assert result["ok"] == "True"
    access_key = result["access_key"]
    assert access_key.startswith("AKIA") and len(access_key) == 20 and len(result["secret_key"]) == 40
    rows = {r["Access Key"]: r for r in parse_table(await run_cli("admin", "keypair", "list", "-u", "user@lablup.com"))}
    assert rows[access_key]["Rate Limit"] == "1234" and rows[access_key]["Admin?"] == "False"

    # The 23.9 CLI converts --is-active with bool(str): only the empty string means false.
    out = await run_cli("admin", "keypair", "update", access_key, "--is-active", "", "-r", "99")
    assert {r["Field"]: r["Value"] for r in parse_table(out)}["ok"] == "True"
    body = await admin.gql(f'query {{ keypair(access_key: "{access_key}") {{ is_active rate_limit }} }}')
    assert body["data"]["keypair"] == {"is_active": False, "rate_limit": 99}

    out = await run_cli("admin", "keypair", "delete", access_key)
    assert {r["Field"]: r["Value"] for r in parse_table(out)}["ok"] == "True"
    body = await admin.gql(f'query {{ keypair(access_key: "{access_key}") {{ access_key }} }}')
    assert body["data"]["keypair"] is None

    out = await run_cli("admin", "keypair", "delete", access_key, ok=False)
    failure = {r["Field"]: r["Value"] for r in parse_table(out)}
    assert failure["Message"] == "No such keypair."


async def test_user_add_update_delete(run_cli: Any, admin: SignedClient) -> None:
    out = await run_cli("admin", "user", "add", "default", "tester@example.com", "pw-Tester1", "-u", "tester",
                        "-n", "Test Er")
    result = {r["Field"]: r["Value"] for r in parse_table(out)}
    assert result["ok"] == "True" and result["email"] == "tester@example.com" and result["username"] == "tester"

    out = await run_cli("admin", "user", "update", "tester@example.com", "-n", "Renamed Tester", "-r", "admin")
    assert {r["Field"]: r["Value"] for r in parse_table(out)}["ok"] == "True"
    out = await run_cli("admin", "user", "info", "-e", "tester@example.com")
    info = {r["Field"]: r["Value"] for r in parse_table(out)}
    assert info["Full Name"] == "Renamed Tester" and info["Role"] == "admin" and info["Status"] == "active"
    rows = {r["Email"]: r for r in parse_table(await run_cli("admin", "user", "list"))}
    assert rows["tester@example.com"]["Full Name"] == "Renamed Tester"

    # the new user's password works for the keypair login
    resp = await admin.request("POST", "/auth/authorize", json_body={
        "type": "keypair", "domain": "default", "username": "tester@example.com", "password": "pw-Tester1"})
    assert resp.status == 200 and resp.body["data"]["role"] == "admin"

    out = await run_cli("admin", "user", "delete", "tester@example.com")
    assert {r["Field"]: r["Value"] for r in parse_table(out)}["ok"] == "True"
    deleted = parse_table(await run_cli("admin", "user", "list", "-s", "deleted"))
    assert [r["Email"] for r in deleted] == ["tester@example.com"]
    resp = await admin.request("POST", "/auth/authorize", json_body={
        "type": "keypair", "domain": "default", "username": "tester@example.com", "password": "pw-Tester1"})
    assert resp.status == 401

    out = await run_cli("admin", "user", "add", "default", "user@lablup.com", "x-pass", ok=False)
    assert "already exists" in out or "duplicate" in out.lower()


async def test_session_list_reads_the_sessions_table(run_cli: Any, manager: Any, test_id: str) -> None:
    await add_agent(manager.db, f"i-agent-{test_id}", {"cpu": "8", "mem": "16g"})
    sid = await add_session(manager.db, "my-sess", agent=f"i-agent-{test_id}", slots={"cpu": "1", "mem": "1g"})
    waiting = await add_session(manager.db, "waiting", agent=None, slots={"cpu": "64", "mem": "1g"},
                                status=SessionStatus.PENDING, status_info=None)
    # the manager's scheduler loop records why the session cannot be placed
    reason = None
    for _ in range(100):
        async with manager.db.connect() as conn:
            reason = (await conn.execute(
                sa.select(sessions.c.status_info).where(sessions.c.id == waiting))).scalar()
        if reason:
            break
        await asyncio.sleep(0.1)
    assert reason and "cpu short by" in reason
    rows = {r["Name"]: r for r in parse_table(await run_cli("admin", "session", "list", keypair=USER))}
    assert set(rows) == {"my-sess", "waiting"}
    assert rows["my-sess"]["Session ID"] == str(sid)
    assert rows["my-sess"]["Status"] == "RUNNING" and rows["my-sess"]["Project/Group"] == "default"
    assert rows["my-sess"]["Image"] == "cr.backend.ai/stable/python:3.11-debian12"
    assert rows["waiting"]["Status"] == "PENDING" and rows["waiting"]["Status Info"] == reason
    admin_rows = parse_table(await run_cli("admin", "session", "list"))
    assert {r["Owner Access Key"] for r in admin_rows} == {"AKIANABBDUSEREXAMPLE"}
