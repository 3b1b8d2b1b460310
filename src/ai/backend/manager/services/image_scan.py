"""Image rescans: from the local Docker daemon and from container registries (Registry HTTP
API v2) configured in etcd under config/docker/registry/<name>.

Only images carrying the `ai.backend.kernelspec` label are registered, with their resource
minimums (ai.backend.resource.min.*) and labels (service ports are parsed from the labels
when sessions start).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiodocker
import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import SharedConfig
from ..errors import BackendError, InvalidAPIParameters, ObjectNotFound
from . import images as image_service
from .images import ImageRecord, is_kernel_image, parse_ref

log = logging.getLogger(__name__)

LOCAL = "local"   # the pseudo-registry name for the local Docker daemon
_MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


class RegistryUnreachable(BackendError):
    status_code = 502
    error_type = "registry-unreachable"
    error_title = "The container registry is unreachable."


@dataclass
class RescanReport:
    added: int = 0
    updated: int = 0
    sources: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = f"{self.added} added, {self.updated} updated from {', '.join(self.sources) or 'nothing'}"
        if self.errors:
            text += "; failed: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items())
        return text


# --- the local Docker daemon ----------------------------------------------------------------------

async def scan_local_docker(docker_url: str | None = None) -> list[ImageRecord]:
    try:
        docker = aiodocker.Docker(url=docker_url) if docker_url else aiodocker.Docker()
    except Exception as e:
        raise RegistryUnreachable(f"cannot connect to the local Docker daemon: {e}") from None
    records: list[ImageRecord] = []
    try:
        try:
            summaries = await docker.images.list(filters={"label": ["ai.backend.kernelspec"]})
        except (aiodocker.DockerError, aiohttp.ClientError, OSError) as e:
            raise RegistryUnreachable(f"cannot list images of the local Docker daemon: {e}") from None
        for summary in summaries:
            tags = [t for t in (summary.get("RepoTags") or []) if t and t != "<none>:<none>"]
            if not tags:
                continue
            try:
                detail = await docker.images.inspect(summary["Id"])
            except aiodocker.DockerError as e:
                if e.status == 404:   # removed between listing and inspecting
                    continue
                raise RegistryUnreachable(f"cannot inspect image {summary['Id']}: {e}") from None
            labels = (detail.get("Config") or {}).get("Labels") or {}
            if not is_kernel_image(labels):
                continue
            for tag in tags:
                try:
                    ref = parse_ref(tag)
                except InvalidAPIParameters:
                    log.warning("skipping image with an unparsable tag %r", tag)
                    continue
                records.append(ImageRecord.from_labels(
                    ref, architecture=detail.get("Architecture") or "", digest=summary["Id"],
                    size=int(detail.get("Size") or summary.get("Size") or 0), labels=labels))
    finally:
        await docker.close()
    return records


# --- registries (HTTP API v2) ---------------------------------------------------------------------

class RegistryClient:
    """Just enough of the Registry HTTP API v2: catalog, tags, manifests, config blobs, with
    anonymous, basic and bearer-token authentication."""

    def __init__(self, name: str, url: str, *, username: str | None = None, password: str | None = None,
                 ssl_verify: bool = True, timeout: float = 10.0) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.auth = aiohttp.BasicAuth(username, password or "") if username else None
        self.ssl: bool = ssl_verify   # aiohttp: True verifies, False skips verification
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[str, str] = {}

    async def __aenter__(self) -> RegistryClient:
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _token(self, challenge: str, scope: str) -> str | None:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if realm is None:
            return None
        params["scope"] = scope
        assert self._session is not None
        async with self._session.get(realm, params=params, auth=self.auth, ssl=self.ssl) as resp:
            if resp.status != 200:
                return None
            data = await resp.json(content_type=None)
        return data.get("token") or data.get("access_token")

    async def get(self, path: str, *, scope: str = "registry:catalog:*", accept: str | None = None) -> tuple[Any, Mapping[str, str]]:
        assert self._session is not None
        headers = {"Accept": accept} if accept else {}
        for _ in range(2):
            token = self._tokens.get(scope)
            hdrs = dict(headers)
            if token:
                hdrs["Authorization"] = f"Bearer {token}"
            try:
                async with self._session.get(self.url + path, headers=hdrs, ssl=self.ssl,
                                             auth=None if token else self.auth) as resp:
                    if resp.status == 401 and not token:
                        challenge = resp.headers.get("WWW-Authenticate", "")
                        if challenge.lower().startswith("bearer") and (new := await self._token(challenge, scope)):
                            self._tokens[scope] = new
                            continue
                    if resp.status != 200:
                        raise RegistryUnreachable(f"registry {self.name}: GET {path} returned {resp.status}")
                    return await resp.json(content_type=None), resp.headers
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                raise RegistryUnreachable(f"registry {self.name} at {self.url} is unreachable: {e or type(e).__name__}") from None
        raise RegistryUnreachable(f"registry {self.name}: authentication failed for {path}")

    async def check(self) -> None:
        await self.get("/v2/")

    async def repositories(self, projects: list[str]) -> list[str]:
        data, _ = await self.get("/v2/_catalog?n=10000")
        repos = [r for r in data.get("repositories") or [] if isinstance(r, str)]
        if projects:
            repos = [r for r in repos if r.split("/", 1)[0] in projects]
        return repos

    async def scan_repository(self, repo: str) -> list[ImageRecord]:
        scope = f"repository:{repo}:pull"
        data, _ = await self.get(f"/v2/{repo}/tags/list", scope=scope)
        records: list[ImageRecord] = []
        for tag in data.get("tags") or []:
            manifest, _ = await self.get(f"/v2/{repo}/manifests/{tag}", scope=scope, accept=_MANIFEST_TYPES)
            if "manifests" in manifest:  # a multi-architecture index
                children = [(m["digest"], (m.get("platform") or {}).get("architecture")) for m in manifest["manifests"]]
            else:
                children = [(None, None)]
            for digest, arch in children:
                if digest is not None:
                    manifest, _ = await self.get(f"/v2/{repo}/manifests/{digest}", scope=scope, accept=_MANIFEST_TYPES)
                config_digest = (manifest.get("config") or {}).get("digest")
                if not config_digest:
                    continue
                config, _ = await self.get(f"/v2/{repo}/blobs/{config_digest}", scope=scope)
                labels = (config.get("config") or {}).get("Labels") or {}
                if not is_kernel_image(labels):
                    continue
                size = sum(int(layer.get("size") or 0) for layer in manifest.get("layers") or [])
                ref = parse_ref(f"{self.name}/{repo}:{tag}")
                records.append(ImageRecord.from_labels(
                    ref, architecture=config.get("architecture") or arch or "", digest=config_digest,
                    size=size, labels=labels))
        return records


async def scan_registry(name: str, info: Mapping[str, Any], *, ssl_verify: bool = True) -> list[ImageRecord]:
    url = info.get("") or ""
    if not url:
        raise InvalidAPIParameters(f"registry {name!r} has no URL in etcd (config/docker/registry/{name})")
    projects = [p.strip() for p in str(info.get("project") or "").split(",") if p.strip()]
    verify = ssl_verify and str(info.get("ssl_verify", "true")).lower() != "false"
    async with RegistryClient(name, url, username=info.get("username"), password=info.get("password"),
                              ssl_verify=verify) as client:
        await client.check()
        records: list[ImageRecord] = []
        for repo in await client.repositories(projects):
            records.extend(await client.scan_repository(repo))
    return records


# --- the whole rescan -----------------------------------------------------------------------------

async def rescan(db: AsyncEngine, shared: SharedConfig, registry: str | None = None, *,
                 docker_url: str | None = None, ssl_verify: bool = True,
                 progress: Callable[[str], None] | None = None) -> RescanReport:
    """Rescan one source (a registry name, or "local"), or all of them.

    A named source that cannot be reached fails the rescan; when scanning everything,
    unreachable registries are reported in `errors` and the others still count.
    """
    registries = await shared.get_docker_registries()
    if registry is not None and registry != LOCAL and registry not in registries:
        raise ObjectNotFound(f"unknown registry {registry!r}: configure it in etcd as "
                             f"config/docker/registry/{registry} (known: {', '.join(sorted(registries)) or 'none'})")
    sources = [registry] if registry is not None else [LOCAL, *sorted(registries)]
    report = RescanReport()
    for source in sources:
        if progress:
            progress(f"scanning {source}")
        try:
            if source == LOCAL:
                records = await scan_local_docker(docker_url)
            else:
                records = await scan_registry(source, registries[source], ssl_verify=ssl_verify)
        except BackendError as e:
            if registry is not None:
                raise
            report.errors[source] = str(e)
            continue
        async with db.begin() as conn:
            added, updated = await image_service.upsert(conn, records)
        report.added += added
        report.updated += updated
        report.sources.append(source)
        if progress:
            progress(f"{source}: {added} added, {updated} updated")
    if registry is None and not report.sources:
        raise RegistryUnreachable("no image source could be scanned: " + report.summary())
    return report
