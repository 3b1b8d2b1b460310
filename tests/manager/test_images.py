"""Image registration: the local Docker daemon (real dockerd), a Registry HTTP API v2 server
(a small stand-in: no registry is reachable from these machines), aliases, and failures."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiodocker
import pytest
from aiohttp import web

from ai.backend.manager.config import SharedConfig
from ai.backend.manager.errors import ObjectNotFound
from ai.backend.manager.services import image_scan
from ai.backend.manager.services import images as image_service
from manager.helpers import SignedClient

KERNEL_IMAGE = "cr.backend.ai/stable/python:3.11-debian12"


@pytest.fixture
async def docker() -> AsyncIterator[aiodocker.Docker]:
    client = aiodocker.Docker()
    try:
        await client.version()
    except Exception as e:
        await client.close()
        pytest.fail(f"dockerd is not reachable ({e}); start it with scripts/dockerd.sh")
    yield client
    await client.close()


def test_reference_parsing() -> None:
    ref = image_service.parse_ref(KERNEL_IMAGE)
    assert (ref.registry, ref.path, ref.tag) == ("cr.backend.ai", "stable/python", "3.11-debian12")
    assert image_service.parse_ref("python").canonical == "index.docker.io/library/python:latest"
    assert image_service.parse_ref("localhost:5000/a/b").canonical == "localhost:5000/a/b:latest"
    assert image_service.service_ports({"ai.backend.service-ports": "jupyter:http:8080,tb:http:6006,bad"}) == [
        {"name": "jupyter", "protocol": "http", "container_ports": [8080]},
        {"name": "tb", "protocol": "http", "container_ports": [6006]},
    ]


async def test_local_docker_rescan(manager: Any, docker: aiodocker.Docker, admin: SignedClient, test_id: str) -> None:
    extra = f"localhost/test-{test_id}/python:t1"     # a second tag of the kernel image, unique to this test
    repo, tag = extra.rsplit(":", 1)
    await docker.images.tag(KERNEL_IMAGE, repo=repo, tag=tag)
    try:
        report = await image_scan.rescan(manager.db, SharedConfig(manager.etcd), "local")
    finally:
        await docker.images.delete(extra)
    assert report.sources == ["local"] and report.added >= 2
    async with manager.db.connect() as conn:
        row = await image_service.resolve(conn, KERNEL_IMAGE)
        assert (await image_service.resolve(conn, extra)).config_digest == row.config_digest
        names = {r.name for r in (await conn.execute(image_service.select_images())).all()}
    assert "backendai-base/debian12-python3" not in " ".join(names)   # no kernelspec label
    assert row.architecture == "x86_64"
    assert row.resources == {"cpu": {"min": "1", "max": None}, "mem": {"min": str(256 << 20), "max": None}}
    assert row.labels["ai.backend.service-ports"] == "http-server:http:8090"
    again = await image_scan.rescan(manager.db, SharedConfig(manager.etcd), "local")
    assert again.added == 0 and again.updated >= 1

    body = await admin.gql(f"""query {{ image(reference: "{KERNEL_IMAGE}") {{ name tag registry
        resource_limits {{ key min max }} labels {{ key value }} }} }}""")
    img = body["data"]["image"]
    assert img["name"] == "stable/python" and img["registry"] == "cr.backend.ai"
    assert {"key": "mem", "min": str(256 << 20), "max": "Infinity"} in img["resource_limits"]
    assert {"key": "ai.backend.kernelspec", "value": "1"} in img["labels"]


async def test_alias_dealias_forget(manager: Any, admin: SignedClient, user: SignedClient) -> None:
    await image_scan.rescan(manager.db, SharedConfig(manager.etcd), "local")
    body = await admin.gql(f'mutation {{ alias_image(alias: "py", target: "{KERNEL_IMAGE}") {{ ok msg }} }}')
    assert body["data"]["alias_image"] == {"ok": True, "msg": "success"}
    body = await user.gql('query { image(reference: "py") { tag aliases } images { name aliases } }')
    assert body["data"]["image"] == {"tag": "3.11-debian12", "aliases": ["py"]}
    assert {"name": "stable/python", "aliases": ["py"]} in body["data"]["images"]
    body = await admin.gql('mutation { alias_image(alias: "py2", target: "no/such:image") { ok msg } }')
    assert body["data"]["alias_image"]["ok"] is False and "unknown image" in body["data"]["alias_image"]["msg"]
    body = await admin.gql('mutation { dealias_image(alias: "py") { ok } }')
    assert body["data"]["dealias_image"]["ok"]
    body = await admin.gql('mutation { dealias_image(alias: "py") { ok msg } }')
    assert body["data"]["dealias_image"] == {"ok": False, "msg": "no alias 'py'"}
    body = await admin.gql(f'mutation {{ forget_image(reference: "{KERNEL_IMAGE}") {{ ok }} }}')
    assert body["data"]["forget_image"]["ok"]
    body = await user.gql(f'query {{ image(reference: "{KERNEL_IMAGE}") {{ name }} }}')
    assert body["data"]["image"] is None


async def test_images_are_filtered_by_the_domains_registries(manager: Any, admin: SignedClient,
                                                             user: SignedClient) -> None:
    await image_scan.rescan(manager.db, SharedConfig(manager.etcd), "local")
    body = await user.gql("query { images { name registry } }")
    assert {"name": "stable/python", "registry": "cr.backend.ai"} in body["data"]["images"]
    await admin.gql('mutation { modify_domain(name: "default", props: {allowed_docker_registries: []}) { ok } }')
    body = await user.gql("query { images { name } }")
    assert body["data"]["images"] == []
    body = await admin.gql("query { images { name } }")
    assert body["data"]["images"]     # superadmins see every image


# --- a Registry HTTP API v2 stand-in ---------------------------------------------------------------

def _blob(obj: Any) -> tuple[str, bytes]:
    raw = json.dumps(obj).encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest(), raw


@pytest.fixture
async def fake_registry() -> AsyncIterator[str]:
    """Two repositories: a kernel image with an amd64+arm64 index, and a non-kernel image.
    Requires a bearer token obtained from /token (the flow real registries use)."""
    labels = {"ai.backend.kernelspec": "1", "ai.backend.resource.min.cpu": "2", "ai.backend.resource.min.mem": "1g",
              "ai.backend.features": "batch query uid-match"}
    blobs: dict[str, bytes] = {}
    manifests: dict[tuple[str, str], dict[str, Any]] = {}
    for arch in ("amd64", "arm64"):
        digest, raw = _blob({"architecture": arch, "config": {"Labels": labels}})
        blobs[digest] = raw
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"digest": digest, "size": len(raw)}, "layers": [{"size": 1000}, {"size": 24}]}
        mdigest, _ = _blob(m)
        manifests[("lab/torch", mdigest)] = m
        manifests.setdefault(("lab/torch", "2.1"), {"schemaVersion": 2, "manifests": []})["manifests"].append(
            {"digest": mdigest, "platform": {"architecture": arch, "os": "linux"}})
    plain_digest, plain_raw = _blob({"architecture": "amd64", "config": {"Labels": {"maintainer": "x"}}})
    blobs[plain_digest] = plain_raw
    manifests[("lab/plain", "latest")] = {"schemaVersion": 2, "config": {"digest": plain_digest}, "layers": []}
    tags = {"lab/torch": ["2.1"], "lab/plain": ["latest"]}

    def authorized(request: web.Request) -> None:
        if request.headers.get("Authorization") != "Bearer secret-token":
            realm = f"http://{request.host}/token"
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="fake"'})

    async def token(request: web.Request) -> web.Response:
        assert request.query["service"] == "fake"
        return web.json_response({"token": "secret-token"})

    async def base(request: web.Request) -> web.Response:
        authorized(request)
        return web.json_response({})

    async def catalog(request: web.Request) -> web.Response:
        authorized(request)
        return web.json_response({"repositories": sorted(tags)})

    async def tag_list(request: web.Request) -> web.Response:
        authorized(request)
        repo = request.match_info["repo"]
        return web.json_response({"name": repo, "tags": tags[repo]})

    async def manifest(request: web.Request) -> web.Response:
        authorized(request)
        return web.json_response(manifests[(request.match_info["repo"], request.match_info["ref"])])

    async def blob(request: web.Request) -> web.Response:
        authorized(request)
        return web.Response(body=blobs[request.match_info["digest"]], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/token", token)
    app.router.add_get("/v2/", base)
    app.router.add_get("/v2/_catalog", catalog)
    app.router.add_get("/v2/{repo:.+}/tags/list", tag_list)
    app.router.add_get("/v2/{repo:.+}/manifests/{ref}", manifest)
    app.router.add_get("/v2/{repo:.+}/blobs/{digest}", blob)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"127.0.0.1:{port}"
    await runner.cleanup()


async def test_registry_rescan(manager: Any, fake_registry: str) -> None:
    await manager.etcd.put(f"config/docker/registry/{fake_registry}", f"http://{fake_registry}")
    report = await image_scan.rescan(manager.db, SharedConfig(manager.etcd), fake_registry)
    assert report.added == 2 and report.sources == [fake_registry]   # torch for 2 architectures; plain skipped
    async with manager.db.connect() as conn:
        x86 = await image_service.resolve(conn, f"{fake_registry}/lab/torch:2.1")
        arm = await image_service.resolve(conn, f"{fake_registry}/lab/torch:2.1", "aarch64")
        with pytest.raises(ObjectNotFound):
            await image_service.resolve(conn, f"{fake_registry}/lab/plain:latest")
    assert x86.registry == fake_registry and x86.image == "lab/torch" and x86.size_bytes == 1024
    assert x86.resources["mem"]["min"] == str(1 << 30) and arm.architecture == "aarch64"


async def test_unreachable_and_unknown_registries_fail_clearly(manager: Any, admin: SignedClient) -> None:
    shared = SharedConfig(manager.etcd)
    await manager.etcd.put("config/docker/registry/cr.backend.ai", "https://127.0.0.1:9")   # nothing listens there
    with pytest.raises(image_scan.RegistryUnreachable) as err:
        await image_scan.rescan(manager.db, shared, "cr.backend.ai")
    assert "cr.backend.ai" in str(err.value) and "unreachable" in str(err.value)
    with pytest.raises(ObjectNotFound) as nf:
        await image_scan.rescan(manager.db, shared, "no.such.registry")
    assert "config/docker/registry/no.such.registry" in str(nf.value)
    # scanning everything reports the unreachable registry but still registers local images
    report = await image_scan.rescan(manager.db, shared)
    assert report.sources == ["local"] and "cr.backend.ai" in report.errors

    # the GraphQL mutation runs as a background task whose failure is recorded
    body = await admin.gql('mutation { rescan_images(registry: "cr.backend.ai") { ok msg task_id } }')
    task_id = body["data"]["rescan_images"]["task_id"]
    from ai.backend.common.redis_helper import REDIS_LIVE_DB, connect
    from ai.backend.common.types import HostPortPair

    redis = connect(HostPortPair.parse(await manager.etcd.get("config/redis/addr")), db=REDIS_LIVE_DB)
    try:
        for _ in range(100):
            state = await redis.hgetall(f"bgtask.{task_id}")
            if state.get(b"status") in (b"done", b"failed"):
                break
            await asyncio.sleep(0.1)
        assert state[b"status"] == b"failed"
        assert b"unreachable" in state[b"msg"]
    finally:
        await redis.delete(f"bgtask.{task_id}")
        await redis.aclose()
