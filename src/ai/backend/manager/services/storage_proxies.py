"""The storage proxies this manager talks to, found in etcd, and their failures as API errors.

Proxies register themselves under volumes/proxies/NAME/ when they start, possibly after the
manager (scripts/dev-up.sh starts the manager first) and possibly on a new address after a
restart. So the registry re-reads etcd every few seconds, and at once when a volume host
names a proxy it does not know yet; a client whose registration changed is replaced.

A proxy's 4xx answer reaches the user with its status, type and message unchanged (a quota
exceeded stays a 413 naming the quota scope); an unreachable or failing proxy is a 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.storage_proxy_client import (
    StorageProxyError,
    StorageProxyInfo,
    StorageProxyManagerClient,
    VolumeInfo,
    load_storage_proxies,
)
from ai.backend.common.storage_types import split_volume_host

from ..context import RootContext
from ..errors import (
    BackendError,
    Conflict,
    Forbidden,
    InvalidAPIParameters,
    ObjectNotFound,
    QuotaExceeded,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

EXTENSION_KEY = "storage_proxies"
REFRESH_INTERVAL = 5.0
CALL_TIMEOUT = 60.0
LONG_CALL_TIMEOUT = 3600.0   # clones copy whole folders


class StorageProxies:
    """One manager-facing client per registered proxy, looked up by volume host."""

    def __init__(self, etcd: AsyncEtcd, *, timeout: float = CALL_TIMEOUT) -> None:
        self._etcd = etcd
        self._timeout = timeout
        self._infos: dict[str, StorageProxyInfo] = {}
        self._clients: dict[str, StorageProxyManagerClient] = {}
        self._default_host: str | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._loaded_at < REFRESH_INTERVAL:
                return
            infos, default_host = await load_storage_proxies(self._etcd)
            for name, info in infos.items():
                if self._infos.get(name) != info:
                    old = self._clients.pop(name, None)
                    if old is not None:
                        await old.close()
                    self._clients[name] = self._make_client(info, self._timeout)
            for name in set(self._clients) - set(infos):
                await self._clients.pop(name).close()
            self._infos = infos
            self._default_host = default_host if isinstance(default_host, str) else None
            self._loaded_at = time.monotonic()

    @staticmethod
    def _make_client(info: StorageProxyInfo, timeout: float) -> StorageProxyManagerClient:
        return StorageProxyManagerClient(info.manager_api, info.secret, client_api=info.client_api,
                                         ssl_verify=info.ssl_verify, timeout=timeout)

    async def client(self, host: str) -> tuple[StorageProxyManagerClient, str]:
        """("proxy:volume") -> (that proxy's client, the volume name)."""
        proxy, volume = parse_host(host)
        await self.refresh()
        if proxy not in self._clients:
            await self.refresh(force=True)
        try:
            return self._clients[proxy], volume
        except KeyError:
            raise ServiceUnavailable(f"no storage proxy named {proxy!r} is registered in etcd "
                                     f"(volumes/proxies/{proxy}) for volume host {host!r}") from None

    @asynccontextmanager
    async def long_client(self, host: str) -> AsyncIterator[tuple[StorageProxyManagerClient, str]]:
        """A one-off client with a long timeout, for operations that copy whole folders."""
        proxy, volume = parse_host(host)
        await self.client(host)
        client = self._make_client(self._infos[proxy], LONG_CALL_TIMEOUT)
        try:
            yield client, volume
        finally:
            await client.close()

    async def default_host(self) -> str | None:
        await self.refresh()
        return self._default_host

    async def all_volumes(self) -> dict[str, VolumeInfo]:
        """{"proxy:volume": info} over every registered proxy that answers; others are logged."""
        await self.refresh()
        names = sorted(self._clients)
        results = await asyncio.gather(*(self._clients[n].list_volumes() for n in names),
                                       return_exceptions=True)
        out: dict[str, VolumeInfo] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("storage proxy %s: cannot list volumes: %s", name, result)
                continue
            for vol in result:
                out[f"{name}:{vol.name}"] = vol
        return out

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        self._infos.clear()
        self._loaded_at = float("-inf")


def parse_host(host: str) -> tuple[str, str]:
    try:
        return split_volume_host(host)
    except ValueError as e:
        raise InvalidAPIParameters(str(e)) from None


def storage_proxies(ctx: RootContext) -> StorageProxies:
    """The process-wide registry (created on first use; the vfolder API closes it on shutdown)."""
    registry = ctx.extensions.get(EXTENSION_KEY)
    if registry is None:
        registry = ctx.extensions[EXTENSION_KEY] = StorageProxies(ctx.etcd)
    return registry  # type: ignore[no-any-return]


async def close_storage_proxies(ctx: RootContext) -> None:
    registry = ctx.extensions.pop(EXTENSION_KEY, None)
    if registry is not None:
        await registry.close()


# --- errors -----------------------------------------------------------------------------------

_BY_STATUS: dict[int, type[BackendError]] = {
    400: InvalidAPIParameters, 403: Forbidden, 404: ObjectNotFound, 409: Conflict,
    412: InvalidAPIParameters, 413: QuotaExceeded, 415: InvalidAPIParameters,
}


def as_api_error(e: StorageProxyError, host: str) -> BackendError:
    """The proxy's problem as our own: 4xx keep their type and message, the rest become 503."""
    if e.status == 0:
        return ServiceUnavailable(f"the storage proxy for {host!r} is unreachable: {e.msg}")
    if e.status == 401:
        log.error("storage proxy for %s rejected the manager's secret: %s", host, e)
        return ServiceUnavailable(f"the storage proxy for {host!r} rejected the manager's credentials "
                                  "(check volumes/proxies/NAME/secret)")
    cls = _BY_STATUS.get(e.status)
    if cls is None:
        log.error("storage proxy for %s failed: %s", host, e)
        return ServiceUnavailable(f"the storage proxy for {host!r} failed: {e.msg or e.title}")
    extra: dict[str, Any] = {"type": e.type} if e.type else {}
    return cls(str(e.msg or e.title), data=e.data, extra=extra)


@asynccontextmanager
async def proxy_call(host: str) -> AsyncIterator[None]:
    """Run storage proxy calls for `host`, turning their failures into API errors."""
    try:
        yield
    except StorageProxyError as e:
        raise as_api_error(e, host) from None
