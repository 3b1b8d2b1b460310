"""`backend.ai mgr` commands against the real halfstack (a fresh database and etcd namespace)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from ai.backend.common.types import HostPortPair
from ai.backend.manager.cli.__main__ import main
from manager.helpers import FIXTURES


@pytest.fixture
def manager_toml(database_url: str, etcd_addr: HostPortPair, test_id: str, tmp_path: Path, etcd: Any) -> Path:
    # `etcd` (the conftest fixture) uses the same namespace and deletes it afterwards.
    db = urlsplit(database_url)
    path = tmp_path / "manager.toml"
    path.write_text(f"""
[etcd]
namespace = "test-{test_id}"
addr = "{etcd_addr}"
[db]
addr = "{db.hostname}:{db.port}"
name = "{db.path.lstrip('/')}"
user = "{db.username}"
password = "{db.password}"
[manager]
service-addr = "127.0.0.1:18999"
""")
    return path


def mgr(config: Path, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, ["-f", str(config), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result.output


def test_schema_and_fixtures(manager_toml: Path) -> None:
    assert "current: (empty database)" in mgr(manager_toml, "schema", "show")
    assert "created the schema" in mgr(manager_toml, "schema", "oneshot")
    assert "already exists" in mgr(manager_toml, "schema", "oneshot")
    assert "current: 0001" in mgr(manager_toml, "schema", "show")
    out = mgr(manager_toml, "fixture", "populate", str(FIXTURES / "example-keypairs.json"))
    assert "keypairs: 3 inserted, 0 already present" in out
    out = mgr(manager_toml, "fixture", "populate", str(FIXTURES / "example-keypairs.json"))
    assert "keypairs: 0 inserted, 3 already present" in out and "users: 0 inserted, 3 already present" in out
    out = mgr(manager_toml, "fixture", "populate", str(FIXTURES / "example-resource-presets.json"))
    assert "resource_presets: 3 inserted" in out


def test_bad_fixture_is_refused(manager_toml: Path, tmp_path: Path) -> None:
    mgr(manager_toml, "schema", "oneshot")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"keypairz": []}))
    assert "unknown tables in the fixture: keypairz" in mgr(manager_toml, "fixture", "populate", str(bad), ok=False)
    bad.write_text(json.dumps({"domains": [{"name": "x", "colour": "red"}]}))
    assert "domains: unknown columns colour" in mgr(manager_toml, "fixture", "populate", str(bad), ok=False)


def test_etcd_commands(manager_toml: Path, tmp_path: Path) -> None:
    mgr(manager_toml, "etcd", "put", "config/redis/addr", "127.0.0.1:8110")
    assert mgr(manager_toml, "etcd", "get", "config/redis/addr").strip() == "127.0.0.1:8110"
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps({"registry": {"cr.example.com": {"": "https://cr.example.com", "type": "docker"}}}))
    mgr(manager_toml, "etcd", "put-json", "config/docker", str(tree))
    got = json.loads(mgr(manager_toml, "etcd", "get", "--prefix", "config"))
    assert got == {"docker": {"registry": {"cr.example.com": {"": "https://cr.example.com", "type": "docker"}}},
                   "redis": {"addr": "127.0.0.1:8110"}}
    mgr(manager_toml, "etcd", "delete", "--prefix", "config/docker")
    assert json.loads(mgr(manager_toml, "etcd", "get", "--prefix", "config")) == {"redis": {"addr": "127.0.0.1:8110"}}
    assert "no such key" in mgr(manager_toml, "etcd", "get", "config/nope", ok=False)


def test_image_commands(manager_toml: Path) -> None:
    mgr(manager_toml, "schema", "oneshot")
    assert "from local" in mgr(manager_toml, "image", "rescan", "local")
    assert "alias python -> cr.backend.ai/stable/python:3.11-debian12" in mgr(
        manager_toml, "image", "alias", "python", "cr.backend.ai/stable/python:3.11-debian12")
    listing = mgr(manager_toml, "image", "list")
    assert "cr.backend.ai/stable/python:3.11-debian12" in listing and "python" in listing
    assert "unknown image" in mgr(manager_toml, "image", "alias", "x", "no/such:thing", ok=False)
    mgr(manager_toml, "etcd", "put", "config/docker/registry/cr.backend.ai", "https://127.0.0.1:9")
    out = mgr(manager_toml, "image", "rescan", "cr.backend.ai", ok=False)
    assert "registry cr.backend.ai at https://127.0.0.1:9 is unreachable" in out
    out = mgr(manager_toml, "image", "rescan")   # everything: local works, the registry is reported
    assert "warning: cr.backend.ai" in out and "from local" in out


def test_clear_history(manager_toml: Path) -> None:
    mgr(manager_toml, "schema", "oneshot")
    assert "deleted 0 sessions" in mgr(manager_toml, "clear-history", "-r", "7d")
    assert mgr(manager_toml, "clear-history", "-r", "soon", ok=False)


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "manager.toml"
    bad.write_text('[etcd]\naddr = "nowhere"\n[db]\naddr = "127.0.0.1:8100"\nname = "x"\nuser = "u"\n[manager]\nnum-proc = 0\n')
    out = mgr(bad, "schema", "show", ok=False)
    assert "etcd.addr" in out and "manager.num-proc" in out


def test_dbshell_runs_psql_on_the_manager_database(manager_toml: Path) -> None:
    import subprocess
    import sys

    from ai.backend.manager.cli import __main__ as mgr_cli
    from manager.helpers import subprocess_env

    mgr(manager_toml, "schema", "oneshot")
    mgr(manager_toml, "fixture", "populate", str(FIXTURES / "example-keypairs.json"))
    proc = subprocess.run(
        [sys.executable, "-m", mgr_cli.__name__, "-f", str(manager_toml), "dbshell", "-tA", "-c",
         "SELECT count(*) FROM keypairs"],
        capture_output=True, text=True, timeout=60, env=subprocess_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"
