"""storage-proxy.toml: the sections and keys of the install guide, validated with trafaret.

Besides the documented keys, `[storage-proxy] proxy-name` (the NAME under
volumes/proxies/NAME in etcd, default: node-id), `default-volume`, and `announce-url` of
each API (the URL written to etcd; needed when service-addr binds 0.0.0.0) are accepted.
Relative paths (volumes, pid-file) are taken from the current directory, as for logs.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import trafaret as t

from ai.backend.common.config import (
    BinarySizeTrafaret,
    ConfigError,
    HostPortPairTrafaret,
    PathTrafaret,
    check,
    debug_config_iv,
    etcd_config_iv,
    load_config,
    logging_config_iv,
)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class DurationTrafaret(t.Trafaret):
    """"1d", "12h", "30m", "45s", "1w" or a number of seconds."""

    def check_and_return(self, value: Any) -> timedelta:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return timedelta(seconds=value)
        m = _DURATION_RE.match(str(value)) if isinstance(value, str) else None
        if m is None or float(m.group(1)) <= 0:
            raise t.DataError("expected a positive duration such as 1d, 12h, 30m or 3600", value=value, trafaret=self)
        return timedelta(seconds=float(m.group(1)) * _DURATION_UNITS[m.group(2)])


class UserIDTrafaret(t.Trafaret):
    def __init__(self, *, group: bool = False) -> None:
        self.group = group

    def check_and_return(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str):
            if value.isdigit():
                return int(value)
            try:
                return grp.getgrnam(value).gr_gid if self.group else pwd.getpwnam(value).pw_uid
            except KeyError:
                raise t.DataError(f"no such {'group' if self.group else 'user'}: {value}",
                                  value=value, trafaret=self) from None
        raise t.DataError("expected a numeric id or a name", value=value, trafaret=self)


def _api_iv(*, manager: bool) -> t.Dict:
    fields: dict[t.Key, t.Trafaret] = {
        t.Key("service-addr"): HostPortPairTrafaret(),
        t.Key("ssl-enabled", default=False): t.ToBool,
        t.Key("ssl-cert", default=None): t.Null | PathTrafaret(must_exist=True),
        t.Key("ssl-privkey", default=None): t.Null | PathTrafaret(must_exist=True),
        t.Key("announce-url", default=None): t.Null | t.URL,
    }
    if manager:
        fields[t.Key("secret")] = t.String(min_length=8)
        fields[t.Key("ssl-verify", default=True)] = t.ToBool
    return t.Dict(fields).allow_extra("*")


class OneOf(t.Trafaret):
    def __init__(self, *choices: str) -> None:
        self.choices = choices

    def check_and_return(self, value: Any) -> str:
        if value not in self.choices:
            raise t.DataError(f"expected one of: {', '.join(self.choices)}", value=value, trafaret=self)
        return str(value)


volume_config_iv = t.Dict({
    t.Key("backend"): OneOf("vfs", "xfs"),
    t.Key("path"): PathTrafaret(),
    t.Key("options", default={}): t.Mapping(t.String, t.Any),
}).allow_extra("*")

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9._-]+$")

storage_proxy_config_iv = t.Dict({
    t.Key("etcd"): etcd_config_iv,
    t.Key("storage-proxy"): t.Dict({
        t.Key("node-id", default=socket.gethostname()): t.String,
        t.Key("proxy-name", default=None): t.Null | t.Regexp(r"^[A-Za-z0-9._-]+$"),
        t.Key("num-proc", default=1): t.ToInt(gte=1),
        t.Key("pid-file", default=None): t.Null | PathTrafaret(),
        t.Key("event-loop", default="asyncio"): OneOf("asyncio", "uvloop"),
        t.Key("scandir-limit", default=1000): t.ToInt(gte=1),
        t.Key("max-upload-size", default="100g"): BinarySizeTrafaret(),
        t.Key("secret"): t.String(min_length=8),
        t.Key("session-expire", default="1d"): DurationTrafaret(),
        t.Key("user", default=None): t.Null | UserIDTrafaret(),
        t.Key("group", default=None): t.Null | UserIDTrafaret(group=True),
        t.Key("default-volume", default=None): t.Null | t.String,
    }).allow_extra("*"),
    t.Key("api"): t.Dict({
        t.Key("client"): _api_iv(manager=False),
        t.Key("manager"): _api_iv(manager=True),
    }).allow_extra("*"),
    t.Key("volume"): t.Mapping(t.String, t.Any),  # each section checked by volume_config_iv
    t.Key("logging", default={}): logging_config_iv,
    t.Key("debug", default={}): debug_config_iv,
}).allow_extra("*")


def load(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Find and validate storage-proxy.toml; ConfigError names any bad key."""
    config = load_config("storage-proxy", storage_proxy_config_iv, path)
    sp = config["storage-proxy"]
    if not config["volume"]:
        raise ConfigError("invalid configuration: volume: define at least one [volume.NAME] section",
                          path=Path(config["_src"]))
    for name, raw in list(config["volume"].items()):
        src = Path(config["_src"])
        if not _VOLUME_NAME.match(name):
            raise ConfigError(f"invalid configuration: volume.{name}: volume names may use letters, "
                              "digits, '.', '_' and '-'", path=src)
        if not isinstance(raw, dict):
            raise ConfigError(f"invalid configuration: volume.{name}: expected a [volume.{name}] table", path=src)
        try:
            vcfg = check(volume_config_iv, raw)
        except ConfigError as e:
            detail = "; ".join(f"volume.{name}.{k}: {v}" for k, v in sorted(e.errors.items()))
            raise ConfigError(f"invalid configuration: {detail}", path=src) from None
        vcfg["path"] = vcfg["path"].resolve()
        config["volume"][name] = vcfg
    if sp["default-volume"] is not None and sp["default-volume"] not in config["volume"]:
        raise ConfigError(f"invalid configuration: storage-proxy.default-volume: no volume named "
                          f"{sp['default-volume']!r}", path=Path(config["_src"]))
    for side in ("client", "manager"):
        api = config["api"][side]
        if api["ssl-enabled"] and not (api["ssl-cert"] and api["ssl-privkey"]):
            raise ConfigError(f"invalid configuration: api.{side}: ssl-enabled needs ssl-cert and ssl-privkey",
                              path=Path(config["_src"]))
    sp["proxy-name"] = sp["proxy-name"] or sp["node-id"]
    return config


def file_owner(config: dict[str, Any]) -> tuple[int, int] | None:
    """(uid, gid) for new vfolders and files when they differ from this process's ids."""
    sp = config["storage-proxy"]
    uid = sp["user"] if sp["user"] is not None else os.getuid()
    gid = sp["group"] if sp["group"] is not None else os.getgid()
    if (uid, gid) == (os.getuid(), os.getgid()):
        return None
    return uid, gid


def announce_url(api: dict[str, Any]) -> str:
    """The URL others use to reach an API: announce-url, or one built from service-addr."""
    if api["announce-url"]:
        return str(api["announce-url"]).rstrip("/")
    host, port = api["service-addr"].host, api["service-addr"].port
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if api['ssl-enabled'] else 'http'}://{host}:{port}"
