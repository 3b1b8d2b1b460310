"""POST /session against a real manager (PostgreSQL, Redis, etcd): the PENDING rows it writes,
the events it produces, validation, name reuse, owner_access_key and waiting (no agent here:
a stand-in for the scheduler flips the row to RUNNING where a test needs it)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ai.backend.common.events.session import SessionStartedEvent
from ai.backend.common.status import AgentStatus, ClusterMode, SessionStatus, SessionTypes
from ai.backend.common.types import HostPortPair
from ai.backend.manager.config import SharedConfig
from ai.backend.manager.models import domains, groups, keypair_resource_policies
from ai.backend.manager.services import scaling_groups as sgroup_service
from manager.helpers import ADMIN, USER, SignedClient
from manager.rows import add_agent
from manager.sessions_api.sesshelpers import (
    IMAGE,
    OTHER_IMAGE,
    body,
    count_rows,
    dependency_rows,
    kernel_rows,
    mark_running,
    session_rows,
    stream_events,
)
from manager.vfolders.vfhelpers import add_user


async def test_enqueue_writes_pending_rows_and_events(mgr: Any, user: SignedClient, redis_addr: HostPortPair) -> None:
    resp = await user.request("POST", "/session", json_body=body(
        config_environ={"MYVAR": "x y"}, config_resources={"cpu": 2, "mem": "1g"},
        config_resource_opts={"shmem": "128m"}, tag="exp-1", bootstrap_script="echo hi"))
    assert resp.status == 201, resp.body
    assert resp.content_type == "application/json"
    sid = uuid.UUID(resp.body["sessionId"])
    assert resp.body == {"sessionId": str(sid), "sessionName": "mysess", "sessId": "mysess", "kernelId": "mysess",
                         "status": "PENDING", "servicePorts": [], "created": True}

    (row,) = await session_rows(mgr.db)
    assert row.id == sid and row.name == "mysess" and row.access_key == USER[0]
    assert row.status == SessionStatus.PENDING and row.session_type == SessionTypes.INTERACTIVE
    assert row.images == [IMAGE] and row.scaling_group_name == "default" and row.domain_name == "default"
    assert row.requested_slots == {"cpu": Decimal(2), "mem": Decimal(2**30)}
    assert row.environ == {"MYVAR": "x y"} and row.tag == "exp-1" and row.bootstrap_script == "echo hi"
    assert [h["status"] for h in row.status_history] == ["PENDING"]
    (k,) = await kernel_rows(mgr.db, sid)
    assert (k.id, k.cluster_role, k.cluster_idx, k.cluster_hostname, k.local_rank) == (sid, "main", 1, "main1", 0)
    assert k.agent is None and k.status == SessionStatus.PENDING
    assert (k.image, k.architecture, k.registry) == (IMAGE, "x86_64", "cr.backend.ai")
    assert k.requested_slots == {"cpu": Decimal(2), "mem": Decimal(2**30)}
    assert k.resource_opts == {"shmem": 128 * 2**20}
    assert k.environ == ["MYVAR=x y"] and k.vfolder_mounts == [] and k.mounts == []

    events = await stream_events(redis_addr, mgr.local_config["manager"]["event-stream-key"])
    names = [n for n, _ in events]
    assert names == ["session_enqueued", "do_schedule"]
    assert uuid.UUID(str(events[0][1]["session_id"])) == sid


async def test_defaults_come_from_the_image_minimum(mgr: Any, user: SignedClient) -> None:
    resp = await user.request("POST", "/session", json_body=body(config={}))
    assert resp.status == 201, resp.body
    (k,) = await kernel_rows(mgr.db, uuid.UUID(resp.body["sessionId"]))
    assert k.requested_slots == {"cpu": Decimal(1), "mem": Decimal(256 * 2**20)}
    assert k.resource_opts == {"shmem": 64 * 2**20}


BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"image": None}, "image"),
    ({"image": 42}, "image"),
    ({"image": "no-such-image:1.0"}, "image"),
    ({"name": "a b"}, "name"),
    ({"name": "x"}, "name"),
    ({"name": "-starts-with-dash"}, "name"),
    ({"type": "weird"}, "type"),
    ({"type": "batch"}, "startupCommand"),
    ({"enqueueOnly": "perhaps"}, "enqueueOnly"),
    ({"maxWaitSeconds": -1}, "maxWaitSeconds"),
    ({"clusterSize": 0}, "clusterSize"),
    ({"clusterSize": "many"}, "clusterSize"),
    ({"clusterMode": "mesh"}, "clusterMode"),
    ({"starts_at": "next tuesday"}, "starts_at"),
    ({"dependencies": "abc"}, "dependencies"),
    ({"dependencies": ["no-such-session"]}, "dependencies[0]"),
    ({"callback_url": "ftp://x"}, "callback_url"),
    ({"config": []}, "config"),
    ({"config_environ": {"1BAD": "x"}}, "config.environ.1BAD"),
    ({"config_environ": {"OK": {"nested": 1}}}, "config.environ.OK"),
    ({"config_environ": ["A=B"]}, "config.environ"),
    ({"config_mounts": "data"}, "config.mounts"),
    ({"config_mounts": [""]}, "config.mounts[0]"),
    ({"config_mount_map": {"data": 5}}, "config.mount_map.data"),
    ({"config_resources": {"cpu": "lots"}}, "config.resources"),
    ({"config_resources": {"cpu": -1}}, "config.resources"),
    ({"config_resources": {"mem": "12 parsecs"}}, "config.resources"),
    ({"config_resources": {"warp.drive": 1}}, "config.resources"),
    ({"config_resources": {"mem": "128m"}}, "config.resources.mem"),
    ({"config_resources": {"cpu": "0.5"}}, "config.resources.cpu"),
    ({"config_resource_opts": {"shmem": "1g"}, "config_resources": {"mem": "512m"}}, "config.resource_opts.shmem"),
    ({"config_resource_opts": {"shmem": "huge"}}, "config.resource_opts.shmem"),
    ({"config_resource_opts": {"turbo": True}}, "config.resource_opts"),
    ({"config_preopen_ports": [80]}, "config.preopen_ports[0]"),
    ({"config_scalingGroup": 7}, "config.scalingGroup"),
    ({"group": "no-such-project"}, "group"),
    ({"domain": "other-domain"}, "domain"),
]


async def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(mgr: Any, user: SignedClient) -> None:
    """Every case against one manager (a manager per case would cost minutes)."""
    for changes, field in BAD_INPUTS:
        b = body(**changes)
        if b.get("image") is None and "image" in changes:
            del b["image"]
        resp = await user.request("POST", "/session", json_body=b)
        assert resp.status == 400, (changes, resp.body)
        assert resp.content_type == "application/problem+json"
        assert resp.body["type"] == "https://api.backend.ai/probs/invalid-api-params"
        assert field in resp.body["msg"], (changes, resp.body)
    assert await count_rows(mgr.db) == (0, 0)


async def test_unknown_slot_is_refused_and_registered_slots_are_accepted(mgr: Any, user: SignedClient) -> None:
    resp = await user.request("POST", "/session", json_body=body(config_resources={"cuda.device": 1}))
    assert resp.status == 400 and "cuda.device" in resp.body["msg"]
    await SharedConfig(mgr.etcd).etcd.put("config/resource_slots/cuda.device", "count")
    resp = await user.request("POST", "/session", json_body=body(config_resources={"cuda.device": 1}))
    assert resp.status == 201, resp.body
    (k,) = await kernel_rows(mgr.db, uuid.UUID(resp.body["sessionId"]))
    assert k.requested_slots["cuda.device"] == Decimal(1)


async def test_resource_group_must_be_allowed(mgr: Any, user: SignedClient) -> None:
    async with mgr.db.begin() as conn:   # a resource group associated with nobody
        await sgroup_service.create(conn, "private", {"description": "x", "driver": "static", "scheduler": "fifo"})
    resp = await user.request("POST", "/session", json_body=body(config_scalingGroup="private"))
    assert resp.status == 403, resp.body
    assert "config.scalingGroup" in resp.body["msg"] and "private" in resp.body["msg"]
    resp = await user.request("POST", "/session", json_body=body(config_scalingGroup="nonexistent"))
    assert resp.status == 403
    assert await count_rows(mgr.db) == (0, 0)
    resp = await user.request("POST", "/session", json_body=body(config_scalingGroup="default"))
    assert resp.status == 201


async def test_aliases_and_legacy_fields(mgr: Any, user: SignedClient, client_factory: Any) -> None:
    v4_user = client_factory(USER, api_version="v4.20190615")
    legacy = {"lang": IMAGE, "clientSessionToken": "legacy-01", "enqueueOnly": True,
              "config": {"clusterSize": 1, "instanceMemory": 512, "instanceCores": 2, "mounts": []}}
    for path, name in (("/kernel/create", "legacy-01"), ("/session/create", "legacy-02"),
                       ("/session/_/create", "legacy-03")):
        client = v4_user if path.startswith("/kernel") else user
        resp = await client.request("POST", path, json_body={**legacy, "clientSessionToken": name})
        assert resp.status == 201, (path, resp.body)
        assert resp.body["kernelId"] == name
        info = await client.request("GET", f"/kernel/{name}")      # where a v4 client goes next
        assert info.status == 200 and info.body["sessionName"] == name
        (row,) = await session_rows(mgr.db, name=name)
        assert row.images == [IMAGE]
        assert row.requested_slots == {"cpu": Decimal(2), "mem": Decimal(512 * 2**20)}
    # canonical, short and aliased image names resolve to the same image
    for i, ref in enumerate((IMAGE, "stable/python:3.11-debian12", "python")):
        resp = await user.request("POST", "/session", json_body=body(name=f"img-{i}", image=ref))
        assert resp.status == 201, resp.body
        (row,) = await session_rows(mgr.db, name=f"img-{i}")
        assert row.images == [IMAGE]


async def test_name_is_unique_among_live_sessions(mgr: Any, user: SignedClient, admin: SignedClient) -> None:
    first = await user.request("POST", "/session", json_body=body())
    assert first.status == 201
    again = await user.request("POST", "/session", json_body=body())
    assert again.status == 200, again.body
    assert again.body["sessionId"] == first.body["sessionId"] and again.body["created"] is False
    assert again.body["status"] == "PENDING"
    refused = await user.request("POST", "/session", json_body=body(reuseIfExists=False))
    assert refused.status == 409 and refused.body["type"].endswith("/session-already-exists")
    other_image = await user.request("POST", "/session", json_body=body(image=OTHER_IMAGE))
    assert other_image.status == 409 and "name" in other_image.body["msg"]
    # another keypair may use the same name
    theirs = await admin.request("POST", "/session", json_body=body())
    assert theirs.status == 201 and theirs.body["sessionId"] != first.body["sessionId"]
    assert len(await session_rows(mgr.db)) == 2


async def test_concurrent_creations_with_one_name_make_one_session(mgr: Any, user: SignedClient) -> None:
    results = await asyncio.gather(*(user.request("POST", "/session", json_body=body()) for _ in range(6)))
    assert sorted(r.status for r in results) == [200] * 5 + [201]
    assert len({r.body["sessionId"] for r in results}) == 1
    assert len(await session_rows(mgr.db)) == 1


async def test_owner_access_key_is_for_admins(mgr: Any, user: SignedClient, admin: SignedClient) -> None:
    resp = await user.request("POST", "/session", json_body=body(owner_access_key=ADMIN[0]))
    assert resp.status == 403 and "owner_access_key" in resp.body["msg"]
    assert await count_rows(mgr.db) == (0, 0)
    resp = await admin.request("POST", "/session", json_body=body(owner_access_key=USER[0]))
    assert resp.status == 201, resp.body
    (row,) = await session_rows(mgr.db)
    assert row.access_key == USER[0] and str(row.user_uuid) == "4f13d193-f646-425a-a340-270c4d2b9860"
    resp = await admin.request("POST", "/session", json_body=body(name="other", owner_access_key="AKIANOSUCHKEY0000000"))
    assert resp.status == 404


async def test_cluster_session_has_one_kernel_per_container(mgr: Any, user: SignedClient) -> None:
    resp = await user.request("POST", "/session", json_body=body(
        clusterSize=3, clusterMode="multi-node", config_resources={"cpu": 1, "mem": "512m"}))
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    (row,) = await session_rows(mgr.db)
    assert row.cluster_size == 3 and row.cluster_mode == ClusterMode.MULTI_NODE
    assert row.requested_slots == {"cpu": Decimal(3), "mem": Decimal(3 * 512 * 2**20)}
    ks = await kernel_rows(mgr.db, sid)
    assert [(k.cluster_role, k.cluster_idx, k.cluster_hostname, k.local_rank) for k in ks] == [
        ("main", 1, "main1", 0), ("sub", 1, "sub1", 1), ("sub", 2, "sub2", 2)]
    assert ks[0].id == sid and len({k.id for k in ks}) == 3
    assert all(k.cluster_size == 3 and k.agent is None and k.status == SessionStatus.PENDING for k in ks)
    assert all(k.requested_slots == {"cpu": Decimal(1), "mem": Decimal(512 * 2**20)} for k in ks)


async def test_batch_session_dependencies_and_start_time(mgr: Any, user: SignedClient) -> None:
    first = await user.request("POST", "/session", json_body=body(name="prepare"))
    second = await user.request("POST", "/session", json_body=body(name="train"))
    resp = await user.request("POST", "/session", json_body=body(
        name="report", type="batch", startupCommand="python report.py", batchTimeout=600,
        dependencies=["prepare", second.body["sessionId"]], starts_at="1h"))
    assert resp.status == 201, resp.body
    sid = uuid.UUID(resp.body["sessionId"])
    assert set(await dependency_rows(mgr.db, sid)) == {uuid.UUID(first.body["sessionId"]),
                                                       uuid.UUID(second.body["sessionId"])}
    (row,) = await session_rows(mgr.db, name="report")
    assert row.session_type == SessionTypes.BATCH and row.startup_command == "python report.py"
    assert row.timeout == 600
    assert timedelta(minutes=59) < row.starts_at - datetime.now(UTC) <= timedelta(hours=1)
    when = "2031-01-02T03:04:05+00:00"
    resp = await user.request("POST", "/session", json_body=body(name="later", starts_at=when))
    (row,) = await session_rows(mgr.db, name="later")
    assert row.starts_at == datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_dependencies_are_scoped_to_the_owner(mgr: Any, user: SignedClient, admin: SignedClient) -> None:
    theirs = await admin.request("POST", "/session", json_body=body(name="admins-job"))
    assert theirs.status == 201
    resp = await user.request("POST", "/session", json_body=body(dependencies=[theirs.body["sessionId"]]))
    assert resp.status == 400 and "dependencies[0]" in resp.body["msg"]
    assert len(await session_rows(mgr.db)) == 1


async def test_max_wait_seconds_times_out_and_the_session_stays(mgr: Any, user: SignedClient) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await user.request("POST", "/session", json_body=body(enqueueOnly=False, maxWaitSeconds=1))
    assert loop.time() - started >= 1.0
    assert resp.status == 201 and resp.body["status"] == "TIMEOUT" and resp.body["created"] is True
    (row,) = await session_rows(mgr.db)
    assert row.status == SessionStatus.PENDING and str(row.id) == resp.body["sessionId"]


async def test_waits_until_running_and_returns_service_ports(mgr: Any, user: SignedClient) -> None:
    task = asyncio.create_task(user.request("POST", "/session", json_body=body(enqueueOnly=False)))
    for _ in range(100):
        rows = await session_rows(mgr.db)
        if rows:
            break
        await asyncio.sleep(0.05)
    (row,) = rows
    await asyncio.sleep(0.2)
    assert not task.done()
    await mark_running(mgr.db, row.id, service_ports=[
        {"name": "http-server", "protocol": "http", "container_ports": [8090], "host_ports": [30001]}])
    from ai.backend.common.events import EventProducer
    from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect

    addr = HostPortPair.parse(str(await mgr.etcd.get("config/redis/addr")))
    redis = connect(addr, db=REDIS_STREAM_DB)
    producer = EventProducer(redis, stream_key=mgr.local_config["manager"]["event-stream-key"],
                             broadcast_channel=mgr.local_config["manager"]["event-broadcast-channel"])
    await producer.produce_event(SessionStartedEvent(row.id))
    resp = await asyncio.wait_for(task, 10)
    await redis.aclose()
    assert resp.status == 201
    assert resp.body["status"] == "RUNNING"
    assert resp.body["servicePorts"] == [{"name": "http-server", "protocol": "http", "ports": [8090]}]


async def test_pending_session_limit_of_the_keypair_policy(mgr: Any, user: SignedClient) -> None:
    async with mgr.db.begin() as conn:
        await conn.execute(sa.update(keypair_resource_policies).where(keypair_resource_policies.c.name == "default")
                           .values(max_pending_session_count=2))
    results = await asyncio.gather(*(user.request("POST", "/session", json_body=body(name=f"pend-{i}"))
                                     for i in range(4)))
    assert sorted(r.status for r in results) == [201, 201, 412, 412]
    refused = [r for r in results if r.status == 412]
    assert all(r.body["type"].endswith("/too-many-pending-sessions") and "2" in r.body["msg"] for r in refused)
    assert len(await session_rows(mgr.db)) == 2
    # cancelling one makes room again
    first = next(r for r in results if r.status == 201)
    assert (await user.request("DELETE", f"/session/{first.body['sessionId']}")).status == 200
    assert (await user.request("POST", "/session", json_body=body(name="p-again"))).status == 201


async def test_project_must_be_the_owners_and_active(mgr: Any, user: SignedClient, admin: SignedClient) -> None:
    other = uuid.uuid4()
    async with mgr.db.begin() as conn:
        await conn.execute(sa.insert(groups).values(id=other, name="other-project", domain_name="default",
                                                    is_active=True, resource_policy="default"))
    resp = await user.request("POST", "/session", json_body=body(group="other-project"))
    assert resp.status == 403 and "other-project" in resp.body["msg"], resp.body
    resp = await user.request("POST", "/session", json_body=body(group=str(other)))
    assert resp.status == 403
    # an admin may launch in any project of the domain for themselves, not put a user there
    resp = await admin.request("POST", "/session", json_body=body(name="admin-sess", group="other-project"))
    assert resp.status == 201, resp.body
    resp = await admin.request("POST", "/session", json_body=body(group="other-project", owner_access_key=USER[0]))
    assert resp.status == 403
    async with mgr.db.begin() as conn:
        await conn.execute(sa.update(groups).where(groups.c.name == "default").values(is_active=False))
    resp = await user.request("POST", "/session", json_body=body())
    assert resp.status == 403 and "inactive" in resp.body["msg"]
    async with mgr.db.begin() as conn:
        await conn.execute(sa.update(groups).where(groups.c.name == "default").values(is_active=True))
        await conn.execute(sa.update(domains).where(domains.c.name == "default").values(is_active=False))
    resp = await user.request("POST", "/session", json_body=body())
    assert resp.status in (401, 403), resp.body
    (row,) = await session_rows(mgr.db)
    assert row.name == "admin-sess"


async def test_domain_admins_act_only_within_their_domain(mgr: Any, domain_admin: SignedClient,
                                                          admin: SignedClient) -> None:
    async with mgr.db.begin() as conn:
        await conn.execute(sa.insert(domains).values(name="elsewhere", is_active=True))
    (outsider_keys, _) = await add_user(mgr.db, "outsider", domain="elsewhere", group=None)
    resp = await domain_admin.request("POST", "/session", json_body=body(owner_access_key=outsider_keys[0]))
    assert resp.status == 403 and "domain" in resp.body["msg"], resp.body
    resp = await domain_admin.request("POST", "/session", json_body=body(owner_access_key=USER[0]))
    assert resp.status == 201, resp.body
    (row,) = await session_rows(mgr.db)
    assert row.access_key == USER[0]
    # a superadmin reaches the other domain, but the owner still needs a project there
    resp = await admin.request("POST", "/session", json_body=body(name="outside", domain="elsewhere",
                                                                  owner_access_key=outsider_keys[0]))
    assert resp.status == 400 and "group" in resp.body["msg"], resp.body
    assert len(await session_rows(mgr.db)) == 1


async def test_unspecified_resource_group_prefers_one_with_live_agents(mgr: Any, user: SignedClient) -> None:
    async with mgr.db.begin() as conn:
        await sgroup_service.create(conn, "gpu", {"description": "x", "driver": "static", "scheduler": "fifo"})
        await sgroup_service.associate(conn, "domain", "gpu", "default")
        await sgroup_service.create(conn, "arm", {"description": "x", "driver": "static", "scheduler": "fifo"})
        await sgroup_service.associate(conn, "domain", "arm", "default")
    resp = await user.request("POST", "/session", json_body=body(name="no-agents"))
    assert (await session_rows(mgr.db, name="no-agents"))[0].scaling_group_name == "default"
    await add_agent(mgr.db, "agent-gpu", {"cpu": 4, "mem": "8g"}, scaling_group="gpu")
    await add_agent(mgr.db, "agent-lost", {"cpu": 4, "mem": "8g"}, scaling_group="arm", status=AgentStatus.LOST)
    resp = await user.request("POST", "/session", json_body=body(name="with-agents"))
    assert resp.status == 201
    (row,) = await session_rows(mgr.db, name="with-agents")
    assert row.scaling_group_name == "gpu" and set(row.target_sgroup_names) == {"default", "gpu", "arm"}
    assert all(k.scaling_group == "gpu" for k in await kernel_rows(mgr.db, row.id))
    resp = await user.request("POST", "/session", json_body=body(name="pinned", config_scalingGroup="arm"))
    assert resp.status == 201
    assert (await session_rows(mgr.db, name="pinned"))[0].scaling_group_name == "arm"


async def test_session_is_enqueued_even_when_its_events_cannot_be_sent(mgr: Any) -> None:
    """Redis unreachable after the commit: the PENDING rows stand (the scheduler's periodic pass
    finds them) and the caller gets its answer, not a 500."""
    from ai.backend.common.events import EventProducer
    from ai.backend.common.redis_helper import connect
    from ai.backend.manager.context import root_context
    from ai.backend.manager.services import auth as auth_service
    from ai.backend.manager.services.session_create import enqueue_session
    from ai.backend.manager.services.session_params import parse_creation_request

    async with root_context(mgr.local_config) as ctx:
        dead = connect(HostPortPair("127.0.0.1", 1), socket_timeout=1)    # nothing listens on port 1
        ctx.event_producer = EventProducer(dead, stream_key="events.nowhere")
        requester = await auth_service.load_requester(ctx.db, USER[0])
        async with ctx.db.connect() as conn:
            owner = await auth_service.load_owner(conn, USER[0])
        result = await enqueue_session(ctx, requester, owner, parse_creation_request(body(name="quiet")))
        await dead.aclose()
    assert result.created and result.status == "PENDING"
    (row,) = await session_rows(mgr.db)
    assert row.id == result.session_id and row.status == SessionStatus.PENDING
