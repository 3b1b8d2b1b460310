"""Client configuration: `APIConfig` built from arguments or `BACKEND_*` environment variables.

Lookup order for each setting: the explicit constructor argument, then `BACKEND_<KEY>`, then
the legacy `SORNA_<KEY>`, then the same two names in a `.env` file of the working directory,
then the default. ENDPOINT may list several URLs separated by commas; requests fail over to
the next one when the current endpoint cannot be reached.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from yarl import URL

from .exceptions import BackendClientError

__all__ = (
    "API_VERSION",
    "MIN_API_VERSION",
    "APIConfig",
    "get_env",
    "get_config",
    "set_config",
    "parse_api_version",
    "local_state_path",
)

API_VERSION: tuple[int, str] = (7, "20230615")
MIN_API_VERSION: tuple[int, str] = (4, "20181215")
_VERSION_RE = re.compile(r"^v(\d+)\.(\d{8})$")
_UNSET: Any = object()


def local_state_path() -> Path:
    """Where login cookies and similar per-user state live (XDG state dir)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "backend.ai"


def parse_api_version(value: str) -> tuple[int, str]:
    m = _VERSION_RE.match(value.strip())
    if m is None:
        raise ValueError(f"invalid API version string: {value!r} (expected vN.YYYYMMDD)")
    return int(m.group(1)), m.group(2)


def _read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `export ` prefixes, quotes and `#` comments are understood."""
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _lookup(name: str) -> str | None:
    if name in os.environ:
        return os.environ[name]
    return _read_dotenv(Path.cwd() / ".env").get(name)


def get_env(key: str, default: Any = _UNSET, *, clean: Callable[[Any], Any] = lambda v: v) -> Any:
    """The value of BACKEND_<KEY> (or SORNA_<KEY>), cleaned; `default` (also cleaned) if unset."""
    key = key.upper()
    for prefix in ("BACKEND_", "SORNA_"):
        raw = _lookup(prefix + key)
        if raw is not None:
            return clean(raw)
    if default is _UNSET:
        raise KeyError(f"BACKEND_{key} is not set")
    return clean(default)


def bool_env(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("y", "yes", "t", "true", "1", "on"):
        return True
    if v in ("n", "no", "f", "false", "0", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _clean_urls(value: str | URL | Iterable[str | URL]) -> list[URL]:
    if isinstance(value, URL):
        items: list[Any] = [value]
    elif isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    else:
        items = list(value)
    urls = [v if isinstance(v, URL) else URL(v) for v in items]
    if not urls:
        raise ValueError("no endpoint URL given")
    for u in urls:
        if not u.is_absolute() or u.scheme not in ("http", "https"):
            raise ValueError(f"endpoint must be an absolute http(s) URL: {u}")
    return urls


def _clean_list(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


def _clean_timeout(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    return float(value)


class APIConfig:
    """One set of client settings. The access and secret keys are required in "api" mode
    unless the access key is deliberately empty (anonymous requests)."""

    DEFAULTS: Mapping[str, Any] = {
        "endpoint": "https://api.backend.ai",
        "endpoint_type": "api",
        "version": f"v{API_VERSION[0]}.{API_VERSION[1]}",
        "hash_type": "sha256",
        "domain": "default",
        "group": "default",
        "connection_timeout": 10.0,
        "read_timeout": None,
    }

    def __init__(
        self, *,
        endpoint: URL | str | Sequence[URL | str] | None = None,
        endpoint_type: str | None = None,
        domain: str | None = None,
        group: str | None = None,
        version: str | None = None,
        user_agent: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        hash_type: str | None = None,
        vfolder_mounts: Iterable[str] | None = None,
        skip_sslcert_validation: bool | None = None,
        connection_timeout: float | None = None,
        read_timeout: float | None = None,
        announcement_handler: Callable[[str], None] | None = None,
    ) -> None:
        from . import __version__

        d = self.DEFAULTS
        try:
            self._endpoints = (_clean_urls(endpoint) if endpoint is not None
                               else get_env("ENDPOINT", d["endpoint"], clean=_clean_urls))
            self._endpoint_type = (endpoint_type if endpoint_type is not None
                                   else get_env("ENDPOINT_TYPE", d["endpoint_type"], clean=str)).strip().lower()
            self._domain = domain if domain is not None else get_env("DOMAIN", d["domain"], clean=str)
            self._group = group if group is not None else get_env("GROUP", d["group"], clean=str)
            self._version = version if version is not None else d["version"]
            parse_api_version(self._version)
            self._user_agent = user_agent if user_agent is not None else f"Backend.AI Client for Python {__version__}"
            self._access_key = access_key if access_key is not None else get_env("ACCESS_KEY", "", clean=str)
            self._secret_key = secret_key if secret_key is not None else get_env("SECRET_KEY", "", clean=str)
            self._hash_type = (hash_type if hash_type is not None else d["hash_type"]).lower()
            self._vfolder_mounts = (tuple(vfolder_mounts) if vfolder_mounts is not None
                                    else get_env("VFOLDER_MOUNTS", "", clean=_clean_list))
            self._skip_sslcert_validation = (
                skip_sslcert_validation if skip_sslcert_validation is not None
                else get_env("SKIP_SSLCERT_VALIDATION", "no", clean=bool_env))
            self._connection_timeout = (
                connection_timeout if connection_timeout is not None
                else get_env("CONNECTION_TIMEOUT", d["connection_timeout"], clean=_clean_timeout))
            self._read_timeout = (read_timeout if read_timeout is not None
                                  else get_env("READ_TIMEOUT", d["read_timeout"], clean=_clean_timeout))
        except ValueError as e:
            raise BackendClientError(f"invalid client configuration: {e}") from None
        if self._endpoint_type not in ("api", "session"):
            raise BackendClientError(
                f"invalid client configuration: endpoint type must be 'api' or 'session', "
                f"not {self._endpoint_type!r}")
        if self._endpoint_type == "api" and self._access_key and not self._secret_key:
            raise BackendClientError("invalid client configuration: BACKEND_SECRET_KEY is not set")
        self._announcement_handler = announcement_handler

    @property
    def is_anonymous(self) -> bool:
        return not self._access_key

    @property
    def endpoint(self) -> URL:
        """The currently active endpoint (the first reachable one of `endpoints`)."""
        return self._endpoints[0]

    @property
    def endpoints(self) -> Sequence[URL]:
        return tuple(self._endpoints)

    def rotate_endpoints(self) -> None:
        """Make the next endpoint the active one (after a connection failure)."""
        if len(self._endpoints) > 1:
            self._endpoints.append(self._endpoints.pop(0))

    @property
    def endpoint_type(self) -> str:
        return self._endpoint_type

    @property
    def domain(self) -> str:
        return self._domain

    @property
    def group(self) -> str:
        return self._group

    @property
    def version(self) -> str:
        return self._version

    @property
    def user_agent(self) -> str:
        return self._user_agent

    @property
    def access_key(self) -> str:
        return self._access_key

    @property
    def secret_key(self) -> str:
        return self._secret_key

    @property
    def hash_type(self) -> str:
        return self._hash_type

    @property
    def vfolder_mounts(self) -> Sequence[str]:
        return self._vfolder_mounts

    @property
    def skip_sslcert_validation(self) -> bool:
        return self._skip_sslcert_validation

    @property
    def connection_timeout(self) -> float | None:
        return self._connection_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    @property
    def announcement_handler(self) -> Callable[[str], None] | None:
        return self._announcement_handler


_config: APIConfig | None = None


def get_config() -> APIConfig:
    """The process-wide configuration (built from the environment on first use)."""
    global _config
    if _config is None:
        _config = APIConfig()
    return _config


def set_config(conf: APIConfig | None) -> None:
    """Replace the process-wide configuration (None: rebuild from the environment next time)."""
    global _config
    _config = conf
