"""Many simulated agents in one process, each with its own id and RPC port.

Python:
    fleet = DummyFleet(config, count=100, id_prefix="bench-")
    await fleet.start()            # connects etcd/Redis once, starts every agent
    fleet.addresses                # {agent_id: "tcp://127.0.0.1:PORT"}
    await fleet.stop()

CLI:
    ./backend.ai ag dummy-fleet -f agent.toml --count 100 --base-port 16100
"""

from __future__ import annotations

import asyncio
import copy
import logging
import signal
from collections.abc import Mapping
from typing import Any

from ai.backend.common.logging import setup_logging
from ai.backend.common.types import HostPortPair

from ..server import AgentServer, SharedServices
from .agent import DummyAgent

log = logging.getLogger(__name__)


def member_config(base: Mapping[str, Any], agent_id: str, port: int) -> dict[str, Any]:
    cfg = copy.deepcopy(dict(base))
    cfg["agent"]["mode"] = "dummy"
    cfg["agent"]["id"] = agent_id
    listen: HostPortPair = cfg["agent"]["rpc-listen-addr"]
    cfg["agent"]["rpc-listen-addr"] = HostPortPair(listen.host, port)
    adv_host = base["agent"]["advertised-rpc-addr"].host
    cfg["agent"]["advertised-rpc-addr"] = HostPortPair(adv_host, port)
    return cfg


class DummyFleet:
    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        count: int,
        id_prefix: str = "dummy-",
        base_port: int = 0,
        services: SharedServices | None = None,
        start_concurrency: int = 32,
    ) -> None:
        self.config = config
        self.count = count
        self.id_prefix = id_prefix
        self.base_port = base_port
        self.services = services
        self._own_services = services is None
        self.start_concurrency = start_concurrency
        self.servers: list[AgentServer] = []

    @property
    def agents(self) -> list[DummyAgent]:
        return [s.agent for s in self.servers]  # type: ignore[misc]

    @property
    def addresses(self) -> dict[str, str]:
        return {s.agent.id: s.agent.rpc_addr for s in self.servers}

    async def start(self) -> None:
        if self.services is None:
            self.services = SharedServices(self.config)
            await self.services.connect()
        services = self.services
        sem = asyncio.Semaphore(self.start_concurrency)

        async def start_one(i: int) -> AgentServer:
            agent_id = f"{self.id_prefix}{i:04d}"
            port = self.base_port + i if self.base_port else 0
            cfg = member_config(self.config, agent_id, port)
            agent = DummyAgent(cfg, event_producer=services.producer, stat_publisher=None,
                               plugin_config=services.plugin_config)
            server = AgentServer(agent, services)
            async with sem:
                await server.start()
            return server

        results = await asyncio.gather(*(start_one(i) for i in range(1, self.count + 1)), return_exceptions=True)
        self.servers = [r for r in results if isinstance(r, AgentServer)]
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            raise RuntimeError(f"{len(errors)} of {self.count} simulated agents failed to start: {errors[0]!r}")
        log.info("%d simulated agents running", len(self.servers))

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop() for s in self.servers), return_exceptions=True)
        self.servers = []
        if self._own_services and self.services is not None:
            await self.services.close()
            self.services = None


async def serve_fleet(config: Mapping[str, Any], *, count: int, id_prefix: str, base_port: int) -> None:
    fleet = DummyFleet(config, count=count, id_prefix=id_prefix, base_port=base_port)
    await fleet.start()
    for agent_id, addr in fleet.addresses.items():
        log.info("simulated agent %s at %s", agent_id, addr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fleet.stop()


def run_fleet(config: Mapping[str, Any], *, count: int, id_prefix: str, base_port: int, debug: bool = False) -> None:
    setup_logging(config.get("logging"), debug=debug, service="agent-fleet")
    asyncio.run(serve_fleet(config, count=count, id_prefix=id_prefix, base_port=base_port))
