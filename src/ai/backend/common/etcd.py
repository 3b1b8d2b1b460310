"""The cluster's shared configuration in etcd, seen through a namespace.

Keys are stored as `/sorna/{namespace}/{key}` (the layout Backend.AI uses), with each path
component percent-quoted so registry names such as "localhost:5000" stay one component.
`get_prefix` returns a nested dict; a key that is both a value and a parent keeps its value
under the "" child.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import aetcd

from .types import HostPortPair

NestedStrDict = dict[str, Any]


@dataclass(frozen=True)
class WatchEvent:
    key: str
    value: str | None  # None when deleted
    deleted: bool


def _quote(key: str) -> str:
    return "/".join(quote(part, safe="") for part in key.split("/"))


def _unquote(key: str) -> str:
    return "/".join(unquote(part) for part in key.split("/"))


def flatten_dict(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """{"a": {"b": "1", "": "0"}} -> {"a/b": "1", "a": "0"} (the inverse of get_prefix)."""
    out: dict[str, str] = {}
    for k, v in data.items():
        key = f"{prefix}/{k}" if prefix and k else (k or prefix)
        if isinstance(v, Mapping):
            out.update(flatten_dict(v, key))
        elif v is not None:
            out[key] = v if isinstance(v, str) else str(v)
    return out


def nest_pairs(pairs: Mapping[str, str]) -> NestedStrDict:
    root: NestedStrDict = {}
    for key in sorted(pairs):
        node = root
        parts = [p for p in key.split("/") if p != ""] or [""]
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        last = parts[-1]
        existing = node.get(last)
        if isinstance(existing, dict):
            existing[""] = pairs[key]
        else:
            node[last] = pairs[key]
    return root


class AsyncEtcd:
    def __init__(
        self,
        addr: HostPortPair,
        namespace: str,
        *,
        user: str | None = None,
        password: str | None = None,
        encoding: str = "utf-8",
        timeout: float = 10.0,
    ) -> None:
        self.addr = addr
        self.namespace = namespace
        self.encoding = encoding
        self.timeout = timeout
        self._client = aetcd.Client(
            host=addr.host,
            port=addr.port,
            username=user or None,
            password=password or None,
            timeout=timeout,
        )
        self._root = f"/sorna/{namespace}/"

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> AsyncEtcd:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _key(self, key: str) -> bytes:
        return (self._root + _quote(key.strip("/"))).encode(self.encoding)

    def _prefix(self, prefix: str) -> bytes:
        p = prefix.strip("/")
        return (self._root + (_quote(p) + "/" if p else "")).encode(self.encoding)

    def _strip(self, raw: bytes) -> str:
        return _unquote(raw.decode(self.encoding)[len(self._root):])

    async def get(self, key: str) -> str | None:
        r = await self._client.get(self._key(key))
        return None if r is None else r.value.decode(self.encoding)

    async def get_prefix(self, prefix: str) -> NestedStrDict:
        """All keys under `prefix`, nested by path component (relative to the prefix)."""
        base = prefix.strip("/")
        pairs: dict[str, str] = {}
        exact = await self.get(base) if base else None
        if exact is not None:
            pairs[""] = exact
        for kv in await self._client.get_prefix(self._prefix(prefix)):
            rel = self._strip(kv.key)[len(base) + 1 if base else 0:]
            pairs[rel] = kv.value.decode(self.encoding)
        return nest_pairs(pairs)

    async def get_prefix_flat(self, prefix: str) -> dict[str, str]:
        """All keys under `prefix` as full (namespace-relative) keys."""
        return {
            self._strip(kv.key): kv.value.decode(self.encoding)
            for kv in await self._client.get_prefix(self._prefix(prefix))
        }

    async def put(self, key: str, value: str) -> None:
        await self._client.put(self._key(key), value.encode(self.encoding))

    async def put_prefix(self, prefix: str, data: Mapping[str, Any]) -> None:
        """Store a nested dict under `prefix` in one transaction."""
        flat = flatten_dict(data, prefix.strip("/"))
        await self.put_dict(flat)

    async def put_dict(self, data: Mapping[str, str]) -> None:
        ops = [
            self._client.transactions.put(self._key(k), v.encode(self.encoding))
            for k, v in data.items()
        ]
        if ops:
            await self._client.transaction(compare=[], success=ops, failure=[])

    async def delete(self, key: str) -> None:
        await self._client.delete(self._key(key))

    async def delete_multi(self, keys: list[str]) -> None:
        ops = [self._client.transactions.delete(self._key(k)) for k in keys]
        if ops:
            await self._client.transaction(compare=[], success=ops, failure=[])

    async def delete_prefix(self, prefix: str) -> None:
        """Delete `prefix` itself and everything under it."""
        base = prefix.strip("/")
        if base:
            await self._client.delete(self._key(base))
        await self._client.delete_prefix(self._prefix(prefix))

    async def watch_prefix(
        self, prefix: str, *, ready: asyncio.Event | None = None
    ) -> AsyncIterator[WatchEvent]:
        """Yield changes under `prefix` until the caller stops iterating."""
        async for ev in self._follow(await self._client.watch_prefix(self._prefix(prefix)), ready):
            yield ev

    async def watch(self, key: str, *, ready: asyncio.Event | None = None) -> AsyncIterator[WatchEvent]:
        """Yield changes of one key until the caller stops iterating."""
        async for ev in self._follow(await self._client.watch(self._key(key)), ready):
            yield ev

    async def _follow(self, watch: Any, ready: asyncio.Event | None) -> AsyncIterator[WatchEvent]:
        if ready is not None:
            ready.set()
        try:
            async for ev in watch:
                deleted = ev.kind == "DELETE"
                yield WatchEvent(
                    key=self._strip(ev.kv.key),
                    value=None if deleted else ev.kv.value.decode(self.encoding),
                    deleted=deleted,
                )
        finally:
            await watch.cancel()
