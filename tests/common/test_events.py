"""Event bus tests on the real Redis of the halfstack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from ai.backend.common.events import AbstractEvent, EventDelivery, EventDispatcher, EventProducer
from ai.backend.common.redis_helper import connect
from ai.backend.common.types import HostPortPair


@dataclass
class KernelThingHappened(AbstractEvent):
    name = "test_kernel_thing_happened"
    kernel_id: uuid.UUID
    reason: str
    amount: Decimal = Decimal("0")


@dataclass
class ConfigChanged(AbstractEvent):
    name = "test_config_changed"
    delivery = EventDelivery.BROADCAST
    key: str


@dataclass
class SessionThing(AbstractEvent):
    name = "test_session_thing"
    delivery = EventDelivery.ANYCAST | EventDelivery.BROADCAST
    session_id: uuid.UUID


async def wait_for(cond, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def names(test_id: str) -> dict[str, str]:
    return {"stream_key": f"events-{test_id}", "broadcast_channel": f"events-{test_id}.bc"}


@pytest.fixture
async def make_dispatcher(redis_client, names):
    started: list[EventDispatcher] = []

    async def _make(group: str, **kwargs) -> EventDispatcher:
        d = EventDispatcher(redis_client, group=group, **names, block_ms=200, **kwargs)
        return d

    async def _start(d: EventDispatcher) -> EventDispatcher:
        await d.start()
        started.append(d)
        return d

    _make.start = _start  # type: ignore[attr-defined]
    yield _make
    for d in started:
        await d.close()


async def test_anycast_once_per_group_and_each_group(redis_client, names, make_dispatcher) -> None:
    handled: list[tuple[str, str, KernelThingHappened]] = []

    async def handler(ctx: str, source: str, ev: KernelThingHappened) -> None:
        handled.append((ctx, source, ev))

    managers = [await make_dispatcher("manager") for _ in range(3)]
    storage = await make_dispatcher("storage")
    for i, d in enumerate(managers):
        d.consume(KernelThingHappened, f"manager{i}", handler)
    storage.consume(KernelThingHappened, "storage", handler)
    for d in [*managers, storage]:
        await make_dispatcher.start(d)

    producer = EventProducer(redis_client, **names)
    kid = uuid.uuid4()
    for n in range(10):
        await producer.produce_event(KernelThingHappened(kid, f"r{n}", Decimal("0.5")), source="agent-1")
    await wait_for(lambda: len(handled) == 20)
    await asyncio.sleep(0.3)
    assert len(handled) == 20  # nothing handled twice
    by_manager = [h for h in handled if h[0].startswith("manager")]
    assert sorted(h[2].reason for h in by_manager) == sorted(f"r{n}" for n in range(10))
    assert [h[2].reason for h in handled if h[0] == "storage"] == [f"r{n}" for n in range(10)]
    ev = handled[0][2]
    assert ev.kernel_id == kid and ev.amount == Decimal("0.5") and handled[0][1] == "agent-1"
    summary = await redis_client.xpending(names["stream_key"], "manager")
    assert summary["pending"] == 0


async def test_crashing_handler_event_is_redelivered_to_another_consumer(
    redis_client, names, make_dispatcher
) -> None:
    attempts: list[str] = []
    done: list[KernelThingHappened] = []

    async def crashing(ctx, source, ev) -> None:
        attempts.append(ctx)
        raise RuntimeError("handler crashed")

    async def working(ctx, source, ev) -> None:
        attempts.append(ctx)
        done.append(ev)

    a = await make_dispatcher("manager", claim_idle=0.5)
    a.consume(KernelThingHappened, "A", crashing)
    await make_dispatcher.start(a)
    producer = EventProducer(redis_client, **names)
    await producer.produce_event(KernelThingHappened(uuid.uuid4(), "important"))
    await wait_for(lambda: attempts == ["A"])
    await a.close()  # the consumer that failed goes away without acknowledging

    pending = await redis_client.xpending(names["stream_key"], "manager")
    assert pending["pending"] == 1

    b = await make_dispatcher("manager", claim_idle=0.5)
    b.consume(KernelThingHappened, "B", working)
    await make_dispatcher.start(b)
    await wait_for(lambda: len(done) == 1)
    assert done[0].reason == "important"
    assert attempts == ["A", "B"]
    for _ in range(50):
        if (await redis_client.xpending(names["stream_key"], "manager"))["pending"] == 0:
            break
        await asyncio.sleep(0.1)
    assert (await redis_client.xpending(names["stream_key"], "manager"))["pending"] == 0


async def test_consumer_process_killed_mid_handler_loses_nothing(
    redis_client, redis_addr: HostPortPair, names, make_dispatcher, tmp_path
) -> None:
    """A real process dies (os._exit) inside its handler; a survivor picks the event up."""
    marker = tmp_path / "started"
    script = textwrap.dedent(f"""
        import asyncio, os, uuid
        from dataclasses import dataclass
        from ai.backend.common.events import AbstractEvent, EventDispatcher
        from ai.backend.common.redis_helper import connect

        @dataclass
        class KernelThingHappened(AbstractEvent):
            name = "test_kernel_thing_happened"
            kernel_id: uuid.UUID
            reason: str

        async def die(ctx, source, ev):
            open({str(marker)!r}, "w").write(ev.reason)
            os._exit(17)

        async def main():
            r = connect({str(redis_addr)!r})
            d = EventDispatcher(r, group="manager", stream_key={names["stream_key"]!r},
                                broadcast_channel={names["broadcast_channel"]!r}, block_ms=200)
            d.consume(KernelThingHappened, None, die)
            await d.start()
            print("ready", flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, env=env, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    assert line.strip() == b"ready"

    producer = EventProducer(redis_client, **names)
    await producer.produce_event(KernelThingHappened(uuid.uuid4(), "survive me"))
    assert await asyncio.wait_for(proc.wait(), 20) == 17
    assert marker.read_text() == "survive me"

    done: list[KernelThingHappened] = []

    async def working(ctx, source, ev) -> None:
        done.append(ev)

    survivor = await make_dispatcher("manager", claim_idle=0.3)
    survivor.consume(KernelThingHappened, None, working)
    await make_dispatcher.start(survivor)
    await wait_for(lambda: len(done) == 1)
    assert done[0].reason == "survive me"


async def test_poison_event_goes_to_dead_letter_after_max_deliveries(
    redis_client, names, make_dispatcher
) -> None:
    attempts = 0

    async def always_fails(ctx, source, ev) -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("bad event")

    d = await make_dispatcher("manager", claim_idle=0.2, claim_interval=0.1, max_deliveries=3)
    d.consume(KernelThingHappened, None, always_fails)
    await make_dispatcher.start(d)
    await EventProducer(redis_client, **names).produce_event(KernelThingHappened(uuid.uuid4(), "poison"))
    dead_key = names["stream_key"] + ".dead"
    await wait_for(lambda: attempts >= 3)

    async def dead_len() -> int:
        return await redis_client.xlen(dead_key)

    for _ in range(100):
        if await dead_len() == 1:
            break
        await asyncio.sleep(0.1)
    assert await dead_len() == 1
    assert attempts == 3
    assert (await redis_client.xpending(names["stream_key"], "manager"))["pending"] == 0
    await redis_client.delete(dead_key)


async def test_broadcast_reaches_every_subscriber(redis_client, names, make_dispatcher) -> None:
    got: dict[str, list[str]] = {"x": [], "y": [], "z": []}

    async def handler(ctx: str, source: str, ev: ConfigChanged) -> None:
        got[ctx].append(ev.key)

    for ctx in got:
        d = await make_dispatcher(f"group-{ctx}")
        d.subscribe(ConfigChanged, ctx, handler)
        await make_dispatcher.start(d)
    await EventProducer(redis_client, **names).produce_event(ConfigChanged("volumes/default_host"))
    await wait_for(lambda: all(v for v in got.values()))
    assert got == {k: ["volumes/default_host"] for k in got}


async def test_event_with_both_deliveries(redis_client, names, make_dispatcher) -> None:
    consumed: list[uuid.UUID] = []
    watched: list[str] = []

    async def consume(ctx, source, ev: SessionThing) -> None:
        consumed.append(ev.session_id)

    async def watch(ctx, source, ev: SessionThing) -> None:
        watched.append(ctx)

    d1 = await make_dispatcher("manager")
    d2 = await make_dispatcher("manager")
    for ctx, d in (("d1", d1), ("d2", d2)):
        d.consume(SessionThing, ctx, consume)
        d.subscribe(SessionThing, ctx, watch)
        await make_dispatcher.start(d)
    sid = uuid.uuid4()
    await EventProducer(redis_client, **names).produce_event(SessionThing(sid))
    await wait_for(lambda: len(consumed) == 1 and len(watched) == 2)
    await asyncio.sleep(0.3)
    assert consumed == [sid] and sorted(watched) == ["d1", "d2"]


async def test_events_nobody_handles_are_acknowledged(redis_client, names, make_dispatcher) -> None:
    d = await make_dispatcher("manager")
    await make_dispatcher.start(d)
    await EventProducer(redis_client, **names).produce_event(KernelThingHappened(uuid.uuid4(), "ignored"))
    for _ in range(50):
        info = await redis_client.xinfo_groups(names["stream_key"])
        if info and info[0]["pending"] == 0 and info[0]["last-delivered-id"] != b"0-0":
            break
        await asyncio.sleep(0.1)
    assert info[0]["pending"] == 0


def test_delivery_mode_mismatch_is_refused(redis_client, names) -> None:
    d = EventDispatcher(redis_client, group="g", **names)

    async def h(ctx, source, ev) -> None: ...

    with pytest.raises(TypeError, match="not delivered as anycast"):
        d.consume(ConfigChanged, None, h)
    with pytest.raises(TypeError, match="not delivered as broadcast"):
        d.subscribe(KernelThingHappened, None, h)


def test_event_names_are_unique() -> None:
    with pytest.raises(TypeError, match="already"):

        @dataclass
        class Duplicate(AbstractEvent):
            name = "test_config_changed"
            key: str


def test_connect_accepts_string_address() -> None:
    client = connect("127.0.0.1:8110")
    assert client.connection_pool.connection_kwargs["port"] == 8110


async def test_broadcast_only_dispatcher_joins_no_group(redis_client, names) -> None:
    got: list[str] = []

    async def handler(ctx, source, ev: ConfigChanged) -> None:
        got.append(ev.key)

    d = EventDispatcher(redis_client, group=None, **names, block_ms=200)
    with pytest.raises(TypeError, match="broadcast-only"):
        d.consume(KernelThingHappened, None, handler)
    d.subscribe(ConfigChanged, None, handler)
    await d.start()
    try:
        await EventProducer(redis_client, **names).produce_event(ConfigChanged("x"))
        await wait_for(lambda: got == ["x"])
        assert not await redis_client.exists(names["stream_key"])  # no stream, no group made
    finally:
        await d.close()
