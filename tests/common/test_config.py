from pathlib import Path

import pytest
import trafaret as t

from ai.backend.common.config import (
    BinarySizeTrafaret,
    ConfigError,
    HostPortPairTrafaret,
    PortRangeTrafaret,
    check,
    etcd_config_iv,
    find_config_file,
    load_config,
    logging_config_iv,
)
from ai.backend.common.types import HostPortPair

schema = t.Dict({
    t.Key("etcd"): etcd_config_iv,
    t.Key("agent"): t.Dict({
        t.Key("rpc-listen-addr"): HostPortPairTrafaret(),
        t.Key("port-range", default=[30000, 31000]): PortRangeTrafaret(),
        t.Key("reserved-mem", default="1g"): BinarySizeTrafaret(),
    }),
    t.Key("logging", default={}): logging_config_iv,
})


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return tmp_path


def test_search_order_cwd_then_user_config(isolated: Path) -> None:
    user_cfg = isolated / "home" / ".config" / "backend.ai" / "agent.toml"
    user_cfg.parent.mkdir(parents=True)
    user_cfg.write_text("")
    assert find_config_file("agent") == user_cfg
    cwd_cfg = isolated / "work" / "agent.toml"
    cwd_cfg.write_text("")
    assert find_config_file("agent") == cwd_cfg
    explicit = isolated / "elsewhere.toml"
    explicit.write_text("")
    assert find_config_file("agent", explicit) == explicit


def test_missing_file_lists_where_it_looked(isolated: Path) -> None:
    with pytest.raises(ConfigError) as e:
        find_config_file("storage-proxy")
    assert "storage-proxy.toml" in str(e.value) and ".config/backend.ai" in str(e.value)
    with pytest.raises(ConfigError, match="config file not found"):
        find_config_file("agent", isolated / "nope.toml")


def test_valid_config_loads_with_defaults(isolated: Path) -> None:
    (isolated / "work" / "agent.toml").write_text(
        '[etcd]\naddr = { host = "127.0.0.1", port = 8120 }\n'
        '[agent]\nrpc-listen-addr = "0.0.0.0:6001"\nreserved-mem = "512m"\n'
    )
    cfg = load_config("agent", schema)
    assert cfg["etcd"]["namespace"] == "local"
    assert cfg["etcd"]["addr"] == HostPortPair("127.0.0.1", 8120)
    assert cfg["agent"]["rpc-listen-addr"] == HostPortPair("0.0.0.0", 6001)
    assert cfg["agent"]["port-range"] == (30000, 31000)
    assert cfg["agent"]["reserved-mem"] == 512 * 1024**2
    assert cfg["logging"]["level"] == "INFO"
    assert cfg["_src"].endswith("agent.toml")


def test_errors_name_the_offending_keys(isolated: Path) -> None:
    (isolated / "work" / "agent.toml").write_text(
        '[etcd]\naddr = { host = "127.0.0.1", port = "many" }\n'
        '[agent]\nrpc-listen-addr = "0.0.0.0:6001"\nport-range = [31000, 30000]\nreserved-mem = "lots"\n'
        '[logging]\nlevel = "LOUD"\n'
    )
    with pytest.raises(ConfigError) as e:
        load_config("agent", schema)
    err = e.value
    assert set(err.errors) == {"etcd.addr", "agent.port-range", "agent.reserved-mem", "logging.level"}
    msg = str(err)
    assert "agent.toml" in msg and "agent.reserved-mem" in msg and "logging.level" in msg


def test_missing_required_key_is_named() -> None:
    with pytest.raises(ConfigError) as e:
        check(schema, {"etcd": {}, "agent": {}})
    assert "agent.rpc-listen-addr" in e.value.errors
    assert "is required" in e.value.errors["agent.rpc-listen-addr"]


def test_invalid_toml_is_reported(isolated: Path) -> None:
    (isolated / "work" / "agent.toml").write_text("[etcd\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config("agent", schema)


def test_overrides_by_dotted_key(isolated: Path) -> None:
    (isolated / "work" / "agent.toml").write_text('[agent]\nrpc-listen-addr = "0.0.0.0:6001"\n[etcd]\n')
    cfg = load_config("agent", schema, overrides={"agent.rpc-listen-addr": "127.0.0.1:7001"})
    assert cfg["agent"]["rpc-listen-addr"].port == 7001
