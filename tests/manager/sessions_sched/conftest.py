"""A real manager (scheduler loop included) plus in-process simulated agents on the same event
bus and RPC, against the real PostgreSQL / Redis / etcd. Intervals and deadlines are short so
the lifecycle's timers show within a test."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.dummy.agent import DummyAgent
from ai.backend.agent.dummy.fleet import DummyFleet
from ai.backend.agent.server import SharedServices
from ai.backend.common.events import EventProducer
from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.common.types import HostPortPair, ResourceSlot
from ai.backend.manager.models import agents, kernels, sessions
from ai.backend.manager.services import quota

SCHED_CONFIG: dict[str, Any] = {
    "tick-interval": 0.3,
    "redrive-interval": 0.5,
    "rpc-timeout": 5.0,
    "lost-check-interval": 0.3,
    "policy-check-interval": 0.3,
    "deadlines": {"SCHEDULED": 8, "PREPARING": 8, "PULLING": 8, "PREPARED": 8, "CREATING": 8,
                  "RESTARTING": 8, "TERMINATING": 8},
}


@pytest.fixture
def sched_config() -> dict[str, Any]:
    return copy.deepcopy(SCHED_CONFIG)


@pytest.fixture
def local_config(local_config: dict[str, Any], sched_config: dict[str, Any]) -> dict[str, Any]:
    from ai.backend.manager.config import scheduler_config_iv

    local_config["scheduler"] = scheduler_config_iv.check(sched_config)
    local_config["manager"]["heartbeat-timeout"] = 3.0
    return local_config


class Agents:
    """Simulated agents talking to the test manager over its event stream and real RPC."""

    def __init__(self, manager_cfg: dict[str, Any], etcd_addr: HostPortPair, namespace: str, test_id: str) -> None:
        self.mgr = manager_cfg["manager"]
        self.etcd_addr = etcd_addr
        self.namespace = namespace
        self.test_id = test_id
        self.services: SharedServices | None = None
        self.fleets: list[DummyFleet] = []

    def raw_config(self, **dummy: Any) -> dict[str, Any]:
        return {
            "etcd": {"namespace": self.namespace, "addr": str(self.etcd_addr)},
            "agent": {"id": f"ag-{self.test_id[:6]}", "rpc-listen-addr": "127.0.0.1:0",
                      "heartbeat-interval": 0.5,
                      "event-stream-key": self.mgr["event-stream-key"],
                      "event-broadcast-channel": self.mgr["event-broadcast-channel"]},
            "container": {"port-range": "auto", "bind-host": "127.0.0.1", "stats-interval": 5},
            "resource": {"reserved-cpu": 0, "reserved-mem": 0},
            "dummy": {"delays": {"pull-image": 0.05, "create-kernel": 0.05, "destroy-kernel": 0.01},
                      "resources": {"cpu": 4, "mem": "8g"}, **dummy},
        }

    async def start(self, count: int = 1, *, prefix: str | None = None, **dummy: Any) -> DummyFleet:
        cfg = agent_config_from_dict(self.raw_config(**dummy))
        if self.services is None:
            self.services = SharedServices(cfg)
            await self.services.connect()
        fleet = DummyFleet(cfg, count=count, id_prefix=prefix or f"ag{len(self.fleets)}-{uuid.uuid4().hex[:4]}-",
                           services=self.services)
        await fleet.start()
        self.fleets.append(fleet)
        return fleet

    @property
    def all(self) -> list[DummyAgent]:
        return [a for f in self.fleets for a in f.agents]

    async def close(self) -> None:
        for f in self.fleets:
            await f.stop()
        if self.services is not None:
            await self.services.close()


@pytest.fixture
async def sim(local_config: dict[str, Any], cluster_etcd: Any, etcd_addr: HostPortPair,
              test_id: str) -> AsyncIterator[Agents]:
    a = Agents(local_config, etcd_addr, cluster_etcd.namespace, test_id)
    yield a
    await a.close()


@pytest.fixture
async def producer(local_config: dict[str, Any], redis_addr: HostPortPair) -> AsyncIterator[EventProducer]:
    r = connect(redis_addr, db=REDIS_STREAM_DB)
    mgr = local_config["manager"]
    yield EventProducer(r, stream_key=mgr["event-stream-key"], broadcast_channel=mgr["event-broadcast-channel"])
    await r.aclose()


async def wait_until(pred: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def session_row(db: AsyncEngine, sid: uuid.UUID) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(sessions).where(sessions.c.id == sid))).first()


async def kernel_rows(db: AsyncEngine, sid: uuid.UUID) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(sa.select(kernels).where(kernels.c.session_id == sid)
                                        .order_by(kernels.c.cluster_role, kernels.c.cluster_idx))).all())


async def wait_status(db: AsyncEngine, sid: uuid.UUID, statuses: Iterable[SessionStatus] | SessionStatus,
                      timeout: float = 20.0) -> Any:
    wanted = {statuses} if isinstance(statuses, SessionStatus) else set(statuses)
    row: Any = None

    async def check() -> bool:
        nonlocal row
        row = await session_row(db, sid)
        return row is not None and row.status in wanted

    try:
        await wait_until(check, timeout, f"session {sid} to be {sorted(wanted)}")
    except AssertionError:
        raise AssertionError(f"session {sid} is {row.status if row else None} ({row.status_info if row else ''}), "
                             f"expected {sorted(wanted)}") from None
    return row


async def wait_agents(db: AsyncEngine, count: int, timeout: float = 20.0) -> None:
    async def check() -> bool:
        async with db.connect() as conn:
            n = (await conn.execute(sa.select(sa.func.count()).select_from(agents)
                                    .where(agents.c.status == AgentStatus.ALIVE))).scalar_one()
        return int(n) >= count

    await wait_until(check, timeout, f"{count} ALIVE agents")


def _nonzero(slots: ResourceSlot) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in slots.items() if Decimal(v) != 0}


async def assert_occupancy_matches(db: AsyncEngine, sim_agents: list[DummyAgent], timeout: float = 15.0) -> None:
    """The DB's derived occupancy per agent (sum over live kernels) equals what each agent has
    actually allocated, once nothing is in flight."""
    mismatch: dict[str, Any] = {}

    async def check() -> bool:
        async with db.connect() as conn:
            derived = await quota.agent_occupancy(conn, [a.id for a in sim_agents])
        mismatch.clear()
        for a in sim_agents:
            db_side = _nonzero(derived.get(a.id, ResourceSlot()))
            agent_side = _nonzero(a.resources.occupied())
            if db_side != agent_side:
                mismatch[a.id] = (db_side, agent_side)
        return not mismatch

    try:
        await wait_until(check, timeout, "occupancy to match")
    except AssertionError:
        raise AssertionError(f"derived occupancy != agent allocations: {mismatch}") from None


@pytest.fixture
async def mctx(manager: Any) -> AsyncIterator[Any]:
    """A second root context on the same stack, for calling services directly (as an API
    handler would); it shares the DB, Redis, etcd and agents with the running manager."""
    from ai.backend.manager.context import root_context

    async with root_context(manager.local_config) as ctx:
        yield ctx


class ManagerProcess:
    """A manager app that a test can stop and start again on the same database."""

    def __init__(self, local_config: dict[str, Any]) -> None:
        self.local_config = local_config
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from ai.backend.manager.server import serve

        loop = asyncio.get_running_loop()
        ready: asyncio.Future[int] = loop.create_future()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve(self.local_config, stop=self._stop, ready=ready.set_result))
        waiters: list[asyncio.Future[Any]] = [self._task, ready]
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED, timeout=60)
        if self._task in done:
            self._task.result()

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, timeout=30)
        self._stop = self._task = None


@pytest.fixture
async def manager_process(local_config: dict[str, Any], db_engine: AsyncEngine,
                          cluster_etcd: Any, redis_addr: HostPortPair) -> AsyncIterator[ManagerProcess]:
    mp = ManagerProcess(local_config)
    yield mp
    await mp.stop()
    r = connect(redis_addr, db=REDIS_STREAM_DB)
    await r.delete(local_config["manager"]["event-stream-key"])
    await r.aclose()
