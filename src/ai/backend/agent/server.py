"""The agent process: shared connections (etcd, Redis), one or more agents with their RPC
endpoints, the resync listener, signals and the pid file.

The Redis address comes from etcd (`config/redis/addr`, `config/redis/password`); events go
to its REDIS_STREAM_DB database through common.events.EventProducer, stats to REDIS_STAT_DB.
Accelerator plugin settings come from etcd `config/plugins/accelerator`.

    python -m ai.backend.agent.server [-f agent.toml] [--debug]
    ./backend.ai ag start-server [-f agent.toml] [--debug]
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from ai.backend.common import redis_helper
from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.events import EventDispatcher, EventProducer
from ai.backend.common.events.agent import (
    AgentStartedEvent,
    AgentTerminatedEvent,
    DoAgentResyncEvent,
)
from ai.backend.common.logging import setup_logging

from .agent import AbstractAgent
from .events import BoundedEventProducer
from .rpc import AgentRPCServer
from .stats import StatPublisher

log = logging.getLogger(__name__)


class ResyncListener:
    """Broadcast do_agent_resync events -> an immediate heartbeat from the named agent(s)."""

    def __init__(self, redis: aioredis.Redis, channel: str) -> None:
        self.handlers: dict[str, Callable[[], Awaitable[None]]] = {}
        # broadcast-only: agents never join the manager's anycast consumer groups
        self._dispatcher = EventDispatcher(redis, group=None, broadcast_channel=channel)
        self._dispatcher.subscribe(DoAgentResyncEvent, None, self._on_resync)

    async def start(self) -> None:
        await self._dispatcher.start()

    async def close(self) -> None:
        await self._dispatcher.close()

    async def _on_resync(self, context: None, source: str, event: DoAgentResyncEvent) -> None:
        targets = list(self.handlers) if event.agent_id is None else [event.agent_id]
        for agent_id in targets:
            handler = self.handlers.get(agent_id)
            if handler is not None:
                try:
                    await handler()
                except Exception:
                    log.exception("resync of agent %s failed", agent_id)


class SharedServices:
    """Connections shared by every agent in this process (one for a real agent, many for a
    simulated fleet)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.etcd: AsyncEtcd | None = None
        self.redis_events: aioredis.Redis | None = None
        self.redis_stat: aioredis.Redis | None = None
        self.producer: EventProducer | None = None
        self.stat_publisher: StatPublisher | None = None
        self.resync: ResyncListener | None = None
        self.plugin_config: dict[str, Any] = {}

    async def connect(self) -> None:
        ecfg = self.config["etcd"]
        self.etcd = AsyncEtcd(ecfg["addr"], ecfg["namespace"], user=ecfg["user"], password=ecfg["password"])
        redis_cfg = await self.etcd.get_prefix("config/redis")
        if not redis_cfg.get("addr"):
            fallback = self.config.get("redis") or {}
            if not fallback.get("addr"):
                raise RuntimeError(
                    f"etcd namespace {ecfg['namespace']!r} has no config/redis/addr (and agent.toml no "
                    "[redis] addr fallback); put the Redis address there (the manager's setup does it)"
                )
            log.warning("etcd has no config/redis/addr; using [redis] addr = %s from agent.toml", fallback["addr"])
            redis_cfg = {"addr": str(fallback["addr"]), "password": fallback.get("password") or ""}
        self.plugin_config = (await self.etcd.get_prefix("config/plugins/accelerator")) or {}
        name = f"agent:{self.config['agent']['id']}"
        self.redis_events = redis_helper.connect_from_config(redis_cfg, db=redis_helper.REDIS_STREAM_DB, name=name)
        self.redis_stat = redis_helper.connect_from_config(redis_cfg, db=redis_helper.REDIS_STAT_DB, name=name)
        await redis_helper.wait_until_ready(self.redis_events)
        acfg = self.config["agent"]
        self.producer = BoundedEventProducer(
            self.redis_events,
            stream_key=acfg["event-stream-key"],
            broadcast_channel=acfg["event-broadcast-channel"],
        )
        self.stat_publisher = StatPublisher(self.redis_stat, ttl=max(60.0, 3 * float(self.config["container"]["stats-interval"])))
        self.resync = ResyncListener(self.redis_events, self.producer.broadcast_channel)
        await self.resync.start()

    async def close(self) -> None:
        if self.resync is not None:
            await self.resync.close()
        for r in (self.redis_events, self.redis_stat):
            if r is not None:
                await r.aclose()
        if self.etcd is not None:
            await self.etcd.close()


def build_agent(config: Mapping[str, Any], services: SharedServices, **kwargs: Any) -> AbstractAgent:
    common = {
        "event_producer": services.producer,
        "stat_publisher": services.stat_publisher,
        "plugin_config": services.plugin_config,
        **kwargs,
    }
    mode = config["agent"]["mode"]
    if mode == "docker":
        from .docker.agent import DockerAgent

        return DockerAgent(config, **common)
    if mode == "dummy":
        from .dummy.agent import DummyAgent

        return DummyAgent(config, **common)
    raise ValueError(f"unknown agent mode {mode!r}")


class AgentServer:
    """One agent with its RPC endpoint."""

    def __init__(self, agent: AbstractAgent, services: SharedServices | None = None) -> None:
        self.agent = agent
        self.services = services
        listen = agent.config["agent"]["rpc-listen-addr"]
        self.rpc = AgentRPCServer(agent, f"tcp://{listen.host}:{listen.port}")

    async def start(self) -> None:
        await self.rpc.start()
        adv = self.agent.config["agent"]["advertised-rpc-addr"]
        self.agent.rpc_addr = f"tcp://{adv.host}:{adv.port or self.rpc.bound_port}"
        await self.agent.init()
        if self.services is not None and self.services.resync is not None:
            self.services.resync.handlers[self.agent.id] = self.agent.heartbeat
        await self.agent.produce_event(AgentStartedEvent(self.agent.id, reason="agent-started"))
        log.info("agent %s handles RPC requests at %s", self.agent.id, self.agent.rpc_addr)

    async def stop(self, reason: str = "agent-shutdown") -> None:
        if self.services is not None and self.services.resync is not None:
            self.services.resync.handlers.pop(self.agent.id, None)
        await self.agent.produce_event(AgentTerminatedEvent(self.agent.id, reason=reason))
        await self.rpc.close()
        await self.agent.shutdown()


async def serve(config: Mapping[str, Any], stop: asyncio.Event | None = None) -> None:
    services = SharedServices(config)
    await services.connect()
    server: AgentServer | None = None
    try:
        server = AgentServer(build_agent(config, services), services)
        await server.start()
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("agent %s stopping (kernels keep running)", config["agent"]["id"])
    finally:
        if server is not None:
            await server.stop()
        await services.close()


def run(config: Mapping[str, Any], *, debug: bool = False) -> None:
    setup_logging(config.get("logging"), debug=debug or config["debug"]["enabled"], service="agent")
    pid_file: Path | None = config["agent"].get("pid-file")
    if pid_file is not None:
        pid_file.write_text(f"{os.getpid()}\n")
    try:
        if config["agent"]["event-loop"] == "uvloop":
            import uvloop

            uvloop.run(serve(config))
        else:
            asyncio.run(serve(config))
    finally:
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    import sys

    from .cli import main

    main(["start-server", *sys.argv[1:]], prog_name="ai.backend.agent.server")
