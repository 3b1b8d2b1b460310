"""Local TOML configuration: the documented search paths, trafaret validation, readable errors.

Each service names its file after itself (manager.toml, agent.toml, storage-proxy.toml) and
looks in the current directory, ~/.config/backend.ai and /etc/backend.ai unless `-f` names one.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import trafaret as t

from .types import BinarySize, HostPortPair


class ConfigError(Exception):
    """A configuration problem; `str()` names the offending key (dotted path) and why."""

    def __init__(self, message: str, *, path: Path | None = None, errors: dict[str, str] | None = None):
        self.path = path
        self.errors = errors or {}
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


def search_paths(name: str) -> list[Path]:
    filename = f"{name}.toml"
    return [
        Path.cwd() / filename,
        Path.home() / ".config" / "backend.ai" / filename,
        Path("/etc/backend.ai") / filename,
    ]


def find_config_file(name: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    for candidate in search_paths(name):
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(p) for p in search_paths(name))
    raise ConfigError(f"no {name}.toml found (searched {tried}); pass one with -f")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"invalid TOML: {e}", path=path) from None


def _flatten_errors(err: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(err, t.DataError):
        if isinstance(err.error, dict):
            return _flatten_errors(err.error, prefix)
        return {prefix or "(root)": str(err.error)}
    if isinstance(err, Mapping):
        out: dict[str, str] = {}
        for k, v in err.items():
            out.update(_flatten_errors(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "(root)": str(err)}


def check(schema: t.Trafaret, raw: Any, *, path: Path | None = None) -> Any:
    """Validate `raw`; on failure raise ConfigError listing each bad key as a dotted path."""
    try:
        return schema.check(raw)
    except t.DataError as e:
        errors = _flatten_errors(e)
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        raise ConfigError(f"invalid configuration: {detail}", path=path, errors=errors) from None


def load_config(
    name: str,
    schema: t.Trafaret,
    explicit: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Find, parse and validate a service config; `overrides` maps dotted keys to values."""
    path = find_config_file(name, explicit)
    raw = read_toml(path)
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value)
    result = check(schema, raw, path=path)
    result["_src"] = str(path)
    return result


def set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = target
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value


# --- trafaret building blocks shared by service schemas ---------------------------------


class _Checker(t.Trafaret):
    def _fail(self, message: str, value: Any) -> NoReturn:
        raise t.DataError(message, value=value, trafaret=self)


class HostPortPairTrafaret(_Checker):
    def check_and_return(self, value: Any) -> HostPortPair:
        if isinstance(value, Mapping) and not {"host", "port"} <= set(value):
            self._fail("expected {host = ..., port = ...}", value)
        if not isinstance(value, Mapping | str):
            self._fail("expected {host = ..., port = ...} or 'host:port'", value)
        try:
            addr = HostPortPair.parse(value)
        except (ValueError, TypeError):
            self._fail("invalid host:port address", value)
        if not 0 < addr.port < 65536:
            self._fail(f"port out of range: {addr.port}", value)
        return addr


class BinarySizeTrafaret(_Checker):
    def check_and_return(self, value: Any) -> BinarySize:
        try:
            return BinarySize.from_str(value)
        except (ValueError, TypeError):
            self._fail("expected a size such as 512m or 4g", value)


class PathTrafaret(_Checker):
    def __init__(self, *, must_exist: bool = False, is_dir: bool = False) -> None:
        self.must_exist = must_exist
        self.is_dir = is_dir

    def check_and_return(self, value: Any) -> Path:
        if not isinstance(value, str | os.PathLike):
            self._fail("expected a path", value)
        p = Path(value).expanduser()
        if self.must_exist and not p.exists():
            self._fail(f"path does not exist: {p}", value)
        if self.is_dir and p.exists() and not p.is_dir():
            self._fail(f"not a directory: {p}", value)
        return p


class PortRangeTrafaret(_Checker):
    def check_and_return(self, value: Any) -> tuple[int, int]:
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
            self._fail("expected [first, last]", value)
        lo, hi = int(value[0]), int(value[1])
        if not (0 < lo <= hi < 65536):
            self._fail("expected 0 < first <= last < 65536", value)
        return lo, hi


etcd_config_iv = t.Dict({
    t.Key("namespace", default="local"): t.String,
    t.Key("addr", default="127.0.0.1:8120"): HostPortPairTrafaret(),
    t.Key("user", default=""): t.String(allow_blank=True),
    t.Key("password", default=""): t.String(allow_blank=True),
}).allow_extra("*")

_log_levels = t.Enum("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET")

logging_config_iv = t.Dict({
    t.Key("level", default="INFO"): _log_levels,
    t.Key("drivers", default=["console"]): t.List(t.Enum("console", "file")),
    t.Key("pkg-ns", default={"": "WARNING", "ai.backend": "INFO"}): t.Mapping(
        t.String(allow_blank=True), _log_levels
    ),
    t.Key("console", default={"colored": True, "format": "verbose"}): t.Dict({
        t.Key("colored", default=True): t.Bool,
        t.Key("format", default="verbose"): t.Enum("simple", "verbose"),
    }).allow_extra("*"),
    t.Key("file", default=None): t.Null | t.Dict({
        t.Key("path"): PathTrafaret(),
        t.Key("filename"): t.String,
        t.Key("backup-count", default=5): t.ToInt[1:],
        t.Key("rotation-size", default="10M"): BinarySizeTrafaret(),
        t.Key("format", default="verbose"): t.Enum("simple", "verbose"),
    }).allow_extra("*"),
}).allow_extra("*")

debug_config_iv = t.Dict({
    t.Key("enabled", default=False): t.Bool,
}).allow_extra("*")
