"""Simulated agents over real RPC, etcd and Redis: lifecycle, idempotency, failures, fleets."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ai.backend.common.events.agent import DoAgentResyncEvent
from ai.backend.common.rpc import RPCError

from ..helpers import IMAGE, EventLog, kernel_config, of_kernel
from .conftest import Fleet


async def test_create_is_idempotent_and_announced(fleet: Fleet, events: EventLog) -> None:
    f, (rpc,) = await fleet.start()
    agent_id = f.agents[0].id
    kc = kernel_config()
    [info] = await rpc.call("create_kernels", kc["session_id"], [kc])
    assert info["kernel_id"] == kc["kernel_id"] and info["container_id"].startswith("dummy-")
    assert info["resource_slots"] == {"cpu": "1", "mem": str(256 * 2**20)}
    # a re-driven create returns the same kernel instead of making another one
    assert await rpc.call("create_kernels", kc["session_id"], [kc]) == [info]
    await events.wait_for(of_kernel(kc["kernel_id"], "kernel_started"))
    names = await events.names(of_kernel(kc["kernel_id"]))
    assert names == ["kernel_preparing", "kernel_creating", "kernel_started"]
    started = [e for _, e in await events.all() if e.name == "kernel_started"][0]
    assert started.creation_info == info  # type: ignore[attr-defined]
    sources = {src for src, e in await events.all() if e.name == "kernel_started"}
    assert sources == {agent_id}


async def test_heartbeat_lists_kernels_and_slots(fleet: Fleet, events: EventLog) -> None:
    f, (rpc,) = await fleet.start(dummy={"resources": {"cpu": 4, "mem": "8g", "slots": {"cuda.device": 2}}})
    kc = kernel_config(cpu="2", resource_slots={"cpu": "2", "mem": "1073741824", "cuda.device": "1"})
    await rpc.call("create_kernels", kc["session_id"], [kc])

    def hb_with_kernel(e) -> bool:  # type: ignore[no-untyped-def]
        return e.name == "agent_heartbeat" and any(k["kernel_id"] == kc["kernel_id"] for k in e.agent_info["kernels"])

    hb = await events.wait_for(hb_with_kernel)
    info = hb.agent_info  # type: ignore[attr-defined]
    assert info["id"] == f.agents[0].id and info["addr"] == f.addresses[info["id"]]
    assert info["scaling_group"] == "default" and info["architecture"]
    assert info["available_resource_slots"] == {"cpu": "4", "mem": str(8 * 2**30), "cuda.device": "2"}
    assert info["resource_slot_types"] == {"cpu": "count", "mem": "bytes", "cuda.device": "count"}
    assert [tuple(i)[0] for i in info["images"]] == [IMAGE]
    [k] = info["kernels"]
    assert k["status"] == "RUNNING" and k["session_id"] == kc["session_id"]
    assert set(info["compute_plugins"]) == {"cpu", "mem", "cuda"}


async def test_destroy_is_idempotent_and_terminated_kernels_stay_reported(fleet: Fleet, events: EventLog) -> None:
    f, (rpc,) = await fleet.start()
    kc = kernel_config()
    await rpc.call("create_kernels", kc["session_id"], [kc])
    result = await rpc.call("destroy_kernel", kc["kernel_id"], kc["session_id"], "user-requested")
    assert result["exit_code"] == 0
    again = await rpc.call("destroy_kernel", kc["kernel_id"], kc["session_id"], "user-requested")
    assert again["kernel_id"] == kc["kernel_id"]
    terminated = [e for _, e in await events.all() if of_kernel(kc["kernel_id"], "kernel_terminated")(e)]
    assert [e.reason for e in terminated] == ["user-requested", "already-terminated"]  # type: ignore[attr-defined]
    assert terminated[0].exit_code == 0  # type: ignore[attr-defined]
    # never seen at all: still a success, still an event
    ghost = str(uuid.uuid4())
    await rpc.call("destroy_kernel", ghost, kc["session_id"])
    await events.wait_for(of_kernel(ghost, "kernel_terminated"))
    statuses = {k["kernel_id"]: k["status"] for k in (await rpc.call("agent_info"))["kernels"]}
    assert statuses == {kc["kernel_id"]: "TERMINATED"}
    assert f.agents[0].resources.occupied().is_zero()
    with pytest.raises(RPCError) as e:
        await rpc.call("execute", kc["kernel_id"], None, "query", "print(1)")
    assert e.value.type == "KernelNotFound"


async def test_pulls_missing_images(fleet: Fleet, events: EventLog) -> None:
    _, (rpc,) = await fleet.start()
    kc = kernel_config(image="cr.backend.ai/stable/other:1.0")
    await rpc.call("create_kernels", kc["session_id"], [kc])
    names = await events.names(of_kernel(kc["kernel_id"]))
    assert names == ["kernel_preparing", "kernel_pulling", "kernel_creating", "kernel_started"]
    pulling = [e for _, e in await events.all() if e.name == "kernel_pulling"][0]
    assert pulling.reason == "cr.backend.ai/stable/other:1.0"  # type: ignore[attr-defined]
    assert await rpc.call("check_and_pull", [{"canonical": "cr.backend.ai/stable/other:1.0"}, "new:1"]) == {
        "cr.backend.ai/stable/other:1.0": "present", "new:1": "pulled"}


async def test_failures_are_reported_per_kernel_and_release_resources(fleet: Fleet, events: EventLog) -> None:
    f, (rpc,) = await fleet.start()
    sid = str(uuid.uuid4())
    good = kernel_config(sid)
    bad = kernel_config(sid, internal_data={"dummy": {"fail": ["create-kernel"]}})
    with pytest.raises(RPCError) as e:
        await rpc.call("create_kernels", sid, [good, bad])
    assert e.value.type == "KernelCreationFailed"
    assert bad["kernel_id"] in e.value.message and good["kernel_id"] not in e.value.message
    cancelled = await events.wait_for(of_kernel(bad["kernel_id"], "kernel_cancelled"))
    assert "simulated creation failure" in cancelled.reason  # type: ignore[attr-defined]
    agent = f.agents[0]
    assert list(agent.kernel_registry) == [uuid.UUID(good["kernel_id"])]
    assert agent.resources.occupied()["cpu"] == 1
    # the manager re-drives: the good one is confirmed, the bad one retried (and fails again)
    with pytest.raises(RPCError):
        await rpc.call("create_kernels", sid, [good, bad])
    huge = kernel_config(cpu="100")
    with pytest.raises(RPCError, match="insufficient cpu: requested 100, available 7"):
        await rpc.call("create_kernels", huge["session_id"], [huge])
    assert agent.resources.occupied()["cpu"] == 1


async def test_failure_rates_and_pull_failures(fleet: Fleet, events: EventLog) -> None:
    _, (rpc,) = await fleet.start(dummy={"failures": {"pull-image": 1.0, "execute": 1.0}})
    kc = kernel_config(image="nowhere/image:1")
    with pytest.raises(RPCError, match="simulated pull failure"):
        await rpc.call("create_kernels", kc["session_id"], [kc])
    assert (await events.names(of_kernel(kc["kernel_id"])))[-1] == "kernel_cancelled"
    ok = kernel_config()
    await rpc.call("create_kernels", ok["session_id"], [ok])
    r = await rpc.call("execute", ok["kernel_id"], "r1", "query", "print(1)", {})
    assert r["status"] == "finished" and r["exitCode"] == 1


async def test_concurrent_creates_make_one_kernel_and_destroy_cancels_creation(fleet: Fleet, events: EventLog) -> None:
    f, (rpc,) = await fleet.start(dummy={"delays": {"create-kernel": 1.0}})
    kc = kernel_config()
    a, b = await asyncio.gather(*(rpc.call("create_kernels", kc["session_id"], [kc]) for _ in range(2)))
    assert a == b and len(f.agents[0].kernel_registry) == 1
    slow = kernel_config()
    creating = asyncio.create_task(rpc.call("create_kernels", slow["session_id"], [slow]))
    await events.wait_for(of_kernel(slow["kernel_id"], "kernel_creating"))
    await rpc.call("destroy_kernel", slow["kernel_id"], slow["session_id"])
    with pytest.raises(RPCError, match="creation was cancelled"):
        await creating
    names = await events.names(of_kernel(slow["kernel_id"]))
    assert names[-2:] == ["kernel_cancelled", "kernel_terminated"]
    cancelled = await events.wait_for(of_kernel(slow["kernel_id"], "kernel_cancelled"))
    assert cancelled.reason == "destroyed while being created (user-requested)"  # type: ignore[attr-defined]
    assert len(f.agents[0].kernel_registry) == 1


async def test_batch_execution_statuses_and_files(fleet: Fleet) -> None:
    _, (rpc,) = await fleet.start()
    kc = kernel_config()
    await rpc.call("create_kernels", kc["session_id"], [kc])
    kid = kc["kernel_id"]
    statuses = [(await rpc.call("execute", kid, "b1", "batch", "", {"exec": "x"}))["status"]]
    while statuses[-1] != "finished":
        statuses.append((await rpc.call("execute", kid, "b1", "continue", ""))["status"])
    assert statuses == ["clean-finished", "build-finished", "finished"]
    await rpc.call("upload_file", kid, "a.txt", b"hello")
    listing = await rpc.call("list_files", kid, "/home/work")
    assert '"filename": "a.txt"' in listing["files"]
    assert (await rpc.call("start_service", kid, "ttyd")) == {"status": "started"}
    assert (await rpc.call("start_service", kid, "nope"))["status"] == "failed"


async def test_sync_kernel_registry(fleet: Fleet, events: EventLog) -> None:
    f, (rpc,) = await fleet.start()
    kept, unknown = kernel_config(), kernel_config()
    await rpc.call("create_kernels", kept["session_id"], [kept])
    await rpc.call("create_kernels", unknown["session_id"], [unknown])
    lost = str(uuid.uuid4())
    result = await rpc.call("sync_kernel_registry", [(kept["kernel_id"], kept["session_id"]), (lost, kept["session_id"])])
    assert result == {"missing": [lost], "terminated": [unknown["kernel_id"]]}
    assert [str(k) for k in f.agents[0].kernel_registry] == [kept["kernel_id"]]
    await events.wait_for(of_kernel(lost, "kernel_terminated"))
    await events.wait_for(of_kernel(unknown["kernel_id"], "kernel_terminated"))


async def test_a_fleet_in_one_process_with_distinct_ids_and_ports(fleet: Fleet, events: EventLog) -> None:
    f, clients = await fleet.start(count=20, agent={"heartbeat-interval": 30.0})
    ids = [a.id for a in f.agents]
    assert len(set(ids)) == 20 and len(set(f.addresses.values())) == 20
    assert await asyncio.gather(*(c.call("ping", "hi") for c in clients)) == ["hi"] * 20
    started = {src for src, e in await events.all() if e.name == "agent_started"}
    assert started == set(ids)
    # the slow heartbeat already fired once at start; a resync asks agent #3 for another right away

    async def beats() -> list[str]:
        return await events.names(lambda e: e.name == "agent_heartbeat" and getattr(e, "agent_id", None) == ids[3])

    before = len(await beats())
    assert f.services is not None and f.services.producer is not None
    await f.services.producer.produce_event(DoAgentResyncEvent(agent_id=ids[3]))
    deadline = asyncio.get_running_loop().time() + 5
    while len(await beats()) <= before:
        assert asyncio.get_running_loop().time() < deadline, "no heartbeat after the resync request"
        await asyncio.sleep(0.05)
    kernels = [kernel_config() for _ in clients]
    await asyncio.gather(*(c.call("create_kernels", k["session_id"], [k]) for c, k in zip(clients, kernels, strict=True)))
    assert all(len(a.kernel_registry) == 1 for a in f.agents)
