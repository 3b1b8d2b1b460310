"""APIConfig: environment variables, the SORNA_ fallback, .env files, defaults and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai.backend.client.config import APIConfig, get_config, get_env, set_config
from ai.backend.client.exceptions import BackendClientError


def test_env_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_ENDPOINT", "http://a.example:8081, http://b.example:8082")
    monkeypatch.setenv("BACKEND_ENDPOINT_TYPE", "api")
    monkeypatch.setenv("BACKEND_ACCESS_KEY", "AKTEST")
    monkeypatch.setenv("BACKEND_SECRET_KEY", "secret")
    monkeypatch.setenv("BACKEND_DOMAIN", "dom")
    monkeypatch.setenv("BACKEND_GROUP", "grp")
    monkeypatch.setenv("BACKEND_VFOLDER_MOUNTS", "data1, data2")
    monkeypatch.setenv("BACKEND_SKIP_SSLCERT_VALIDATION", "yes")
    monkeypatch.setenv("BACKEND_CONNECTION_TIMEOUT", "2.5")
    monkeypatch.setenv("BACKEND_READ_TIMEOUT", "30")
    cfg = APIConfig()
    assert [str(u) for u in cfg.endpoints] == ["http://a.example:8081", "http://b.example:8082"]
    assert str(cfg.endpoint) == "http://a.example:8081"
    assert (cfg.endpoint_type, cfg.access_key, cfg.secret_key) == ("api", "AKTEST", "secret")
    assert (cfg.domain, cfg.group) == ("dom", "grp")
    assert cfg.vfolder_mounts == ("data1", "data2")
    assert cfg.skip_sslcert_validation is True
    assert (cfg.connection_timeout, cfg.read_timeout) == (2.5, 30.0)
    assert not cfg.is_anonymous


def test_defaults() -> None:
    cfg = APIConfig()
    assert str(cfg.endpoint) == "https://api.backend.ai"
    assert (cfg.endpoint_type, cfg.domain, cfg.group, cfg.version) == ("api", "default", "default", "v7.20230615")
    assert (cfg.connection_timeout, cfg.read_timeout, cfg.hash_type) == (10.0, None, "sha256")
    assert cfg.is_anonymous and cfg.vfolder_mounts == () and cfg.skip_sslcert_validation is False


def test_sorna_fallback_and_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORNA_ACCESS_KEY", "AKSORNA")
    monkeypatch.setenv("SORNA_SECRET_KEY", "sornasecret")
    monkeypatch.setenv("SORNA_ENDPOINT", "http://legacy.example")
    cfg = APIConfig()
    assert (cfg.access_key, cfg.secret_key, str(cfg.endpoint)) == ("AKSORNA", "sornasecret", "http://legacy.example")
    monkeypatch.setenv("BACKEND_ACCESS_KEY", "AKNEW")
    assert APIConfig().access_key == "AKNEW"
    assert get_env("access_key") == "AKNEW"
    assert APIConfig(access_key="AKARG").access_key == "AKARG"   # explicit argument wins


def test_dotenv_file(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text(
        "# my cluster\n"
        "export BACKEND_ENDPOINT=http://dotenv.example:8081\n"
        "BACKEND_ACCESS_KEY='AKDOTENV'\n"
        'BACKEND_SECRET_KEY="s3cr3t"\n'
        "BACKEND_GROUP=research # trailing comment\n"
    )
    cfg = APIConfig()
    assert (str(cfg.endpoint), cfg.access_key, cfg.secret_key, cfg.group) == (
        "http://dotenv.example:8081", "AKDOTENV", "s3cr3t", "research")
    monkeypatch.setenv("BACKEND_ACCESS_KEY", "AKENV")   # the real environment wins over .env
    assert APIConfig().access_key == "AKENV"


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("BACKEND_ENDPOINT", "not a url", "endpoint"),
    ("BACKEND_ENDPOINT_TYPE", "docker", "endpoint type"),
    ("BACKEND_CONNECTION_TIMEOUT", "soon", "float"),
    ("BACKEND_SKIP_SSLCERT_VALIDATION", "maybe", "boolean"),
])
def test_bad_values_name_the_problem(monkeypatch: pytest.MonkeyPatch, key: str, value: str, needle: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(BackendClientError, match=needle):
        APIConfig()


def test_secret_key_required_with_access_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_ACCESS_KEY", "AKONLY")
    with pytest.raises(BackendClientError, match="SECRET_KEY"):
        APIConfig()


def test_rotate_endpoints_and_process_config() -> None:
    cfg = APIConfig(endpoint="http://one.example,http://two.example")
    cfg.rotate_endpoints()
    assert str(cfg.endpoint) == "http://two.example"
    cfg.rotate_endpoints()
    assert str(cfg.endpoint) == "http://one.example"
    set_config(cfg)
    assert get_config() is cfg
