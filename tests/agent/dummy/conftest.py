from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ai.backend.agent.config import agent_config_from_dict
from ai.backend.agent.dummy.fleet import DummyFleet
from ai.backend.agent.server import SharedServices
from ai.backend.common.rpc import RPCClient

from ..helpers import EventLog, deep_update, make_raw_config


@pytest.fixture
async def raw_config(etcd: Any, redis_addr: Any, etcd_addr: Any, test_id: str) -> dict[str, Any]:
    await etcd.put("config/redis/addr", str(redis_addr))
    return make_raw_config(test_id, etcd_addr)


@pytest.fixture
async def services(raw_config: dict[str, Any]) -> AsyncIterator[SharedServices]:
    s = SharedServices(agent_config_from_dict(copy.deepcopy(raw_config)))
    await s.connect()
    yield s
    await s.close()


@pytest.fixture
async def events(services: SharedServices) -> AsyncIterator[EventLog]:
    assert services.redis_events is not None and services.producer is not None
    log = EventLog(services.redis_events, services.producer.stream_key)
    yield log
    await services.redis_events.delete(services.producer.stream_key)


class Fleet:
    def __init__(self, services: SharedServices, raw: dict[str, Any]) -> None:
        self.services = services
        self.raw = raw
        self.fleets: list[DummyFleet] = []
        self.clients: list[RPCClient] = []

    async def start(self, count: int = 1, **sections: Any) -> tuple[DummyFleet, list[RPCClient]]:
        cfg = agent_config_from_dict(deep_update(copy.deepcopy(self.raw), sections))
        fleet = DummyFleet(cfg, count=count, id_prefix=f"{cfg['agent']['id']}-", services=self.services)
        await fleet.start()
        self.fleets.append(fleet)
        clients = [RPCClient(addr, default_timeout=20) for addr in fleet.addresses.values()]
        self.clients.extend(clients)
        return fleet, clients

    async def close(self) -> None:
        for c in self.clients:
            await c.close()
        for f in self.fleets:
            await f.stop()


@pytest.fixture
async def fleet(services: SharedServices, raw_config: dict[str, Any]) -> AsyncIterator[Fleet]:
    f = Fleet(services, raw_config)
    yield f
    await f.close()
