"""Typed async client of the storage proxy's manager-facing API, and its discovery in etcd.

The manager finds proxies under volumes/proxies/NAME/{client_api,manager_api,secret,ssl_verify}
(`load_storage_proxies`), addresses volumes as "NAME:VOLUME" (`StorageProxyPool.for_host`)
and calls one method per proxy operation. Failures raise StorageProxyError carrying the
proxy's problem+json (status, type, title, msg) so the manager can pass it on unchanged.
Upload/download tokens come back with the full client-facing URL for users.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import aiohttp

from .etcd import AsyncEtcd
from .storage_types import QuotaScopeID, VFolderID, split_volume_host

AUTH_HEADER = "X-BackendAI-Storage-Auth-Token"


class StorageProxyError(Exception):
    """A non-2xx answer of the proxy (or no answer: status 0 with the cause in msg)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.type = str(problem.get("type", ""))
        self.title = str(problem.get("title", ""))
        self.msg = problem.get("msg")
        self.data = problem.get("data")
        self.problem = dict(problem)
        super().__init__(f"storage proxy error {status}: {self.title}" + (f" ({self.msg})" if self.msg else ""))

    @property
    def slug(self) -> str:
        return self.type.rsplit("/probs/", 1)[-1]


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    backend: str
    path: str
    capabilities: frozenset[str]


@dataclass(frozen=True)
class QuotaScopeUsage:
    used_bytes: int
    limit_bytes: int | None


@dataclass(frozen=True)
class FSUsage:
    capacity_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class VFolderUsage:
    file_count: int
    used_bytes: int


@dataclass(frozen=True)
class FileEntry:
    """One listing entry, with the manual's Virtual Folder File Object fields plus `type`
    ("file", "dir", "symlink" or "other")."""

    filename: str
    type: str
    size: int
    mode: int
    ctime: float
    mtime: float
    atime: float
    symlink_target: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FileEntry:
        return cls(d["filename"], d["type"], d["size"], d["mode"], d["ctime"], d["mtime"], d["atime"],
                   d.get("symlink_target"))


@dataclass(frozen=True)
class FileListing:
    items: list[FileEntry]
    truncated: bool


@dataclass(frozen=True)
class TransferToken:
    """A token for the client-facing API; give users `url` + `token` (?token= is appended)."""

    token: str
    url: str
    expires_at: datetime
    session: str | None = None    # uploads
    archive: bool = False         # downloads of a directory as zip
    size: int | None = None       # downloads of a file


class StorageProxyManagerClient:
    def __init__(self, manager_api: str, secret: str, *, client_api: str | None = None,
                 ssl_verify: bool = True, timeout: float = 60.0) -> None:
        self.manager_api = manager_api.rstrip("/")
        self.client_api = (client_api or "").rstrip("/")
        self._secret = secret
        self._ssl = ssl_verify  # True: verify the proxy's certificate
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={AUTH_HEADER: self._secret}, timeout=self._timeout)
        return self._session

    async def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        try:
            async with self._http().request(method, self.manager_api + path, json=body, ssl=self._ssl) as resp:
                if resp.status >= 400:
                    try:
                        problem = await resp.json(content_type=None)
                    except (aiohttp.ContentTypeError, ValueError):
                        problem = {"title": resp.reason or "error", "msg": await resp.text()}
                    raise StorageProxyError(resp.status, problem if isinstance(problem, dict) else {})
                return await resp.json()
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as e:
            raise StorageProxyError(0, {"title": "The storage proxy is unreachable",
                                        "msg": f"{self.manager_api}: {e or type(e).__name__}"}) from e

    def _client_url(self, path: str) -> str:
        return self.client_api + path

    # --- proxy and volumes --------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        return await self._call("GET", "/")

    async def list_volumes(self) -> list[VolumeInfo]:
        data = await self._call("GET", "/volumes")
        return [VolumeInfo(v["name"], v["backend"], v["path"], frozenset(v["capabilities"]))
                for v in data["volumes"]]

    async def get_fs_usage(self, volume: str) -> FSUsage:
        d = await self._call("POST", "/volume/fs-usage", {"volume": volume})
        return FSUsage(d["capacity_bytes"], d["used_bytes"])

    # --- quota scopes -------------------------------------------------------------------

    async def create_quota_scope(self, volume: str, qsid: QuotaScopeID, limit_bytes: int | None = None) -> None:
        await self._call("POST", "/quota-scope/create", {"volume": volume, "qsid": str(qsid), "limit_bytes": limit_bytes})

    async def get_quota_scope(self, volume: str, qsid: QuotaScopeID) -> QuotaScopeUsage:
        d = await self._call("POST", "/quota-scope/get", {"volume": volume, "qsid": str(qsid)})
        return QuotaScopeUsage(d["used_bytes"], d["limit_bytes"])

    async def update_quota_scope(self, volume: str, qsid: QuotaScopeID, limit_bytes: int | None) -> None:
        await self._call("POST", "/quota-scope/update", {"volume": volume, "qsid": str(qsid), "limit_bytes": limit_bytes})

    async def delete_quota_scope(self, volume: str, qsid: QuotaScopeID) -> None:
        await self._call("POST", "/quota-scope/delete", {"volume": volume, "qsid": str(qsid)})

    # --- vfolders -----------------------------------------------------------------------

    def _vf(self, volume: str, vfid: VFolderID, **extra: Any) -> dict[str, Any]:
        return {"volume": volume, "vfid": str(vfid), **extra}

    async def create_folder(self, volume: str, vfid: VFolderID) -> str:
        """Create a vfolder (its quota scope too, if new); returns its host path."""
        return (await self._call("POST", "/folder/create", self._vf(volume, vfid)))["path"]

    async def delete_folder(self, volume: str, vfid: VFolderID) -> None:
        await self._call("POST", "/folder/delete", self._vf(volume, vfid))

    async def clone_folder(self, src_volume: str, src_vfid: VFolderID, dst_volume: str, dst_vfid: VFolderID) -> str:
        d = await self._call("POST", "/folder/clone", {"src_volume": src_volume, "src_vfid": str(src_vfid),
                                                        "dst_volume": dst_volume, "dst_vfid": str(dst_vfid)})
        return d["path"]

    async def get_mount_path(self, volume: str, vfid: VFolderID) -> str:
        """The vfolder's absolute path on the storage host (what agents bind-mount)."""
        return (await self._call("POST", "/folder/mount", self._vf(volume, vfid)))["path"]

    async def get_metadata(self, volume: str, vfid: VFolderID) -> str:
        return (await self._call("POST", "/folder/metadata/get", self._vf(volume, vfid)))["payload"]

    async def put_metadata(self, volume: str, vfid: VFolderID, payload: str) -> None:
        await self._call("POST", "/folder/metadata/put", self._vf(volume, vfid, payload=payload))

    async def get_usage(self, volume: str, vfid: VFolderID) -> VFolderUsage:
        d = await self._call("POST", "/folder/usage", self._vf(volume, vfid))
        return VFolderUsage(d["file_count"], d["used_bytes"])

    async def get_used_bytes(self, volume: str, vfid: VFolderID) -> int:
        return (await self._call("POST", "/folder/used-bytes", self._vf(volume, vfid)))["used_bytes"]

    # --- files --------------------------------------------------------------------------

    async def mkdir(self, volume: str, vfid: VFolderID, relpath: str, *, parents: bool = False,
                    exist_ok: bool = False) -> None:
        await self._call("POST", "/folder/file/mkdir",
                         self._vf(volume, vfid, relpath=relpath, parents=parents, exist_ok=exist_ok))

    async def list_files(self, volume: str, vfid: VFolderID, relpath: str = ".") -> FileListing:
        d = await self._call("POST", "/folder/file/list", self._vf(volume, vfid, relpath=relpath))
        return FileListing([FileEntry.from_json(e) for e in d["items"]], d["truncated"])

    async def stat(self, volume: str, vfid: VFolderID, relpath: str) -> FileEntry:
        return FileEntry.from_json(await self._call("POST", "/folder/file/stat", self._vf(volume, vfid, relpath=relpath)))

    async def rename_file(self, volume: str, vfid: VFolderID, relpath: str, new_name: str) -> None:
        await self._call("POST", "/folder/file/rename", self._vf(volume, vfid, relpath=relpath, new_name=new_name))

    async def move_file(self, volume: str, vfid: VFolderID, src_relpath: str, dst_relpath: str) -> None:
        await self._call("POST", "/folder/file/move",
                         self._vf(volume, vfid, src_relpath=src_relpath, dst_relpath=dst_relpath))

    async def delete_files(self, volume: str, vfid: VFolderID, relpaths: Sequence[str], *,
                           recursive: bool = False) -> None:
        await self._call("POST", "/folder/file/delete",
                         self._vf(volume, vfid, relpaths=list(relpaths), recursive=recursive))

    async def issue_upload(self, volume: str, vfid: VFolderID, relpath: str, size: int) -> TransferToken:
        """Open an upload session (quota checked now; an empty file is created at once)."""
        d = await self._call("POST", "/folder/file/upload", self._vf(volume, vfid, relpath=relpath, size=size))
        return TransferToken(d["token"], self._client_url(d["url_path"]), datetime.fromisoformat(d["expires_at"]),
                             session=d["session"])

    async def issue_download(self, volume: str, vfid: VFolderID, relpath: str, *,
                             archive: bool = False) -> TransferToken:
        d = await self._call("POST", "/folder/file/download", self._vf(volume, vfid, relpath=relpath, archive=archive))
        return TransferToken(d["token"], self._client_url(d["url_path"]), datetime.fromisoformat(d["expires_at"]),
                             archive=d["archive"], size=d["size"])


@dataclass(frozen=True)
class StorageProxyInfo:
    name: str
    client_api: str
    manager_api: str
    secret: str
    ssl_verify: bool


async def load_storage_proxies(etcd: AsyncEtcd) -> tuple[dict[str, StorageProxyInfo], str | None]:
    """Proxies registered under volumes/proxies/ and the volumes/default_host value."""
    raw = await etcd.get_prefix("volumes/proxies")
    proxies: dict[str, StorageProxyInfo] = {}
    for name, info in raw.items():
        if not isinstance(info, dict) or not {"client_api", "manager_api", "secret"} <= set(info):
            continue
        proxies[name] = StorageProxyInfo(
            name, info["client_api"], info["manager_api"], info["secret"],
            str(info.get("ssl_verify", "true")).lower() not in ("false", "0", "no"),
        )
    return proxies, await etcd.get("volumes/default_host")


class StorageProxyPool:
    """One client per registered proxy; look volumes up by their "PROXY:VOLUME" host name."""

    def __init__(self, proxies: Mapping[str, StorageProxyInfo], *, timeout: float = 60.0) -> None:
        self.proxies = dict(proxies)
        self._clients = {
            name: StorageProxyManagerClient(p.manager_api, p.secret, client_api=p.client_api,
                                            ssl_verify=p.ssl_verify, timeout=timeout)
            for name, p in self.proxies.items()
        }

    @classmethod
    async def from_etcd(cls, etcd: AsyncEtcd, *, timeout: float = 60.0) -> StorageProxyPool:
        proxies, _ = await load_storage_proxies(etcd)
        return cls(proxies, timeout=timeout)

    def get(self, proxy_name: str) -> StorageProxyManagerClient:
        try:
            return self._clients[proxy_name]
        except KeyError:
            raise StorageProxyError(404, {"title": "Unknown storage proxy",
                                          "msg": f"no storage proxy named {proxy_name!r} is registered"}) from None

    def for_host(self, host: str) -> tuple[StorageProxyManagerClient, str]:
        """("proxy:volume") -> (the proxy's client, the volume name)."""
        proxy, volume = split_volume_host(host)
        return self.get(proxy), volume

    async def close(self) -> None:
        for c in self._clients.values():
            await c.close()
