"""Admin-style function classes against a real manager: GraphQL lists, CRUD mutations and
their privilege checks, in both AsyncSession and Session."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from ai.backend.client.config import APIConfig
from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import AsyncSession, Session
from manager.helpers import ADMIN, USER


async def test_admin_query_and_graphql_errors(api_config: APIConfig) -> None:
    async with AsyncSession(config=api_config) as session:
        data = await session.Admin.query("query { keypair { access_key is_admin } }")
        assert data == {"keypair": {"access_key": ADMIN[0], "is_admin": True}}
        with pytest.raises(BackendAPIError) as info:
            await session.Admin.query("query { no_such_field }")
        assert info.value.status == 400
        assert info.value.data["type"].endswith("/graphql-error")
        assert "no_such_field" in info.value.data["msg"]


async def test_keypair_functions(api_config: APIConfig, user_config: APIConfig) -> None:
    async with AsyncSession(config=api_config) as session:
        mine = await session.KeyPair(ADMIN[0]).info()
        assert mine["access_key"] == ADMIN[0] and mine["is_admin"] is True
        created = await session.KeyPair.create("user@lablup.com", is_active=True, rate_limit=5000)
        assert created["ok"], created
        ak = created["keypair"]["access_key"]
        listed = await session.KeyPair.list(user_id="user@lablup.com")
        assert ak in [k["access_key"] for k in listed]
        page = await session.KeyPair.paginated_list(user_id="user@lablup.com", page_size=100)
        assert ak in [k["access_key"] for k in page.items] and page.total_count >= 2
        assert (await session.KeyPair.deactivate(ak))["ok"]
        assert (await session.KeyPair(ak).info(fields=["is_active"]))["is_active"] is False
        assert (await session.KeyPair.activate(ak))["ok"]
        assert (await session.KeyPair.update(ak, rate_limit=42))["ok"]
        assert (await session.KeyPair(ak).info(fields=["rate_limit"]))["rate_limit"] == 42
        assert (await session.KeyPair.delete(ak))["ok"]
        assert ak not in [k["access_key"] for k in await session.KeyPair.list(user_id="user@lablup.com")]
    async with AsyncSession(config=user_config) as session:
        assert (await session.KeyPair(USER[0]).info())["access_key"] == USER[0]
        with pytest.raises(BackendAPIError):
            await session.KeyPair.create("admin@lablup.com")


async def test_domain_group_user_lifecycle(api_config: APIConfig) -> None:
    suffix = uuid.uuid4().hex[:8]
    dname, gname, email = f"dom-{suffix}", f"grp-{suffix}", f"u-{suffix}@example.com"
    async with AsyncSession(config=api_config) as session:
        r = await session.Domain.create(dname, description="test domain", total_resource_slots={"cpu": "4"})
        assert r["ok"], r
        assert dname in [d["name"] for d in await session.Domain.list()]
        assert (await session.Domain.detail(dname))["description"] == "test domain"
        assert (await session.Domain.update(dname, description="changed"))["ok"]
        assert (await session.Domain.detail(dname))["description"] == "changed"

        g = await session.Group.create(dname, gname, description="g")
        assert g["ok"], g
        gid = g["group"]["id"]
        assert gname in [x["name"] for x in await session.Group.list(dname)]
        assert (await session.Group.detail(gid))["name"] == gname
        assert [x["id"] for x in await session.Group.from_name(gname, domain_name=dname)] == [gid]

        u = await session.User.create(dname, email, "Pass-w0rd!", username=f"u{suffix}", full_name="Test User",
                                      group_ids=[gid])
        assert u["ok"], u
        detail = await session.User.detail(email)
        assert detail["email"] == email and detail["domain_name"] == dname
        assert [x["name"] for x in detail["groups"]] == [gname]
        assert (await session.User.detail_by_uuid(u["user"]["uuid"]))["email"] == email
        assert email in [x["email"] for x in await session.User.list(group=gid)]
        page = await session.User.paginated_list(page_size=100, filter=f'email == "{email}"')
        assert page.total_count == 1 and page.items[0]["email"] == email
        assert (await session.User.update(email, full_name="Renamed"))["ok"]
        assert (await session.User.detail(email, fields=["full_name"]))["full_name"] == "Renamed"
        assert (await session.Group.remove_users(gid, [u["user"]["uuid"]]))["ok"]
        assert (await session.User.detail(email))["groups"] == []
        assert (await session.User.delete(email))["ok"]
        assert (await session.User.purge(email))["ok"]
        assert (await session.Group.delete(gid))["ok"]
        assert (await session.Group.purge(gid))["ok"]
        assert (await session.Domain.delete(dname))["ok"]
        assert (await session.Domain.purge(dname))["ok"]
        assert dname not in [d["name"] for d in await session.Domain.list()]


async def test_scaling_group_image_agent_resource(api_config: APIConfig) -> None:
    name = f"sg-{uuid.uuid4().hex[:8]}"

    def work() -> dict[str, Any]:
        with Session(config=api_config) as session:
            out: dict[str, Any] = {}
            out["create"] = session.ScalingGroup.create(name, description="d", driver="static", scheduler="fifo")
            out["list"] = [s["name"] for s in session.ScalingGroup.list()]
            out["assoc"] = session.ScalingGroup.associate_domain(name, "default")
            out["available"] = [s["name"] for s in session.ScalingGroup.list_available("default")]
            out["dissoc"] = session.ScalingGroup.dissociate_domain(name, "default")
            out["update"] = session.ScalingGroup.update(name, description="changed")
            out["detail"] = session.ScalingGroup.detail(name)
            out["delete"] = session.ScalingGroup.delete(name)
            out["images"] = session.Image.list()
            out["agents"] = session.Agent.paginated_list(status="ALIVE")
            out["presets"] = session.Resource.list()
            out["check"] = session.Resource.check_presets()
            out["slots"] = session.Resource.get_resource_slots()
            out["manager"] = session.Manager.status()
            return out

    out = await asyncio.to_thread(work)
    assert out["create"]["ok"] and out["assoc"]["ok"] and out["dissoc"]["ok"] and out["update"]["ok"]
    assert name in out["list"] and name in out["available"]
    assert out["detail"]["description"] == "changed"
    assert out["delete"]["ok"]
    assert isinstance(out["images"], list)
    assert out["agents"].total_count == len(out["agents"].items)
    assert {p["name"] for p in out["presets"]["presets"]} >= {"cpu01-small"}
    assert "presets" in out["check"] and "keypair_remaining" in out["check"]
    assert "cpu" in out["slots"]
    assert out["manager"]["status"] == "running"


async def test_manager_freeze_unfreeze(api_config: APIConfig, user_config: APIConfig) -> None:
    async with AsyncSession(config=api_config) as session:
        await session.Manager.freeze()
        assert (await session.Manager.status())["status"] == "frozen"
        await session.Manager.unfreeze()
        assert (await session.Manager.status())["status"] == "running"
    async with AsyncSession(config=user_config) as session:
        with pytest.raises(BackendAPIError) as info:
            await session.Manager.freeze()
        assert info.value.status == 403


async def test_keypair_resource_policy_functions(api_config: APIConfig) -> None:
    name = f"pol-{uuid.uuid4().hex[:8]}"
    async with AsyncSession(config=api_config) as session:
        r = await session.KeypairResourcePolicy.create(name, total_resource_slots={"cpu": "2"},
                                                       max_concurrent_sessions=3, idle_timeout=60)
        assert r["ok"], r
        assert name in [p["name"] for p in await session.KeypairResourcePolicy.list()]
        assert (await session.KeypairResourcePolicy.update(name, max_concurrent_sessions=5))["ok"]
        info = await session.KeypairResourcePolicy(ADMIN[0]).info(name)
        assert info["max_concurrent_sessions"] == 5 and json.loads(info["total_resource_slots"])["cpu"] == "2"
        assert (await session.KeypairResourcePolicy.delete(name))["ok"]
        assert name not in [p["name"] for p in await session.KeypairResourcePolicy.list()]


def test_legacy_names() -> None:
    from ai.backend.client.func.session import ComputeSession
    from ai.backend.client.kernel import Kernel

    assert Kernel is ComputeSession


async def test_image_rescan_and_background_task_events(api_config: APIConfig) -> None:
    """A registry rescan (the local dockerd) as a background task followed over SSE."""
    async with AsyncSession(config=api_config) as session:
        started = await session.Image.rescan_images("local")
        assert started["ok"] and started["task_id"], started
        names: list[str] = []
        async with session.BackgroundTask(started["task_id"]).listen_events() as sse:
            async for ev in sse:
                names.append(ev.event)
        assert names[-1] == "server_close" and "bgtask_done" in names, names
        images = await session.Image.list()
        assert ("stable/python", "cr.backend.ai", "3.11-debian12") in [(i["name"], i["registry"], i["tag"])
                                                                      for i in images]


async def test_user_authorize(manager: Any) -> None:
    anonymous = APIConfig(endpoint=manager.url, access_key="")
    async with AsyncSession(config=anonymous) as session:
        data = await session.User.authorize("user@lablup.com", USER[1])
        assert data["access_key"] == USER[0] and data["secret_key"] == USER[1]
        with pytest.raises(BackendAPIError) as info:
            await session.User.authorize("user@lablup.com", "wrong")
        assert info.value.status == 401
