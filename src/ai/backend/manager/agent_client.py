"""Manager -> agent RPC connections, one per agent address, shared by every caller in a process.

Session creation, the scheduler's re-drive loop and the per-session operations (execute,
files, logs) all talk to agents; keeping one DEALER socket per agent avoids a connect per
call. Every call carries a timeout (common.rpc), so a dead agent never hangs a request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ai.backend.common.rpc import RPCClient

DEFAULT_TIMEOUT = 30.0


class AgentRPCPool:
    def __init__(self, *, default_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.default_timeout = default_timeout
        self._clients: dict[str, RPCClient] = {}
        self._lock = asyncio.Lock()

    def get(self, agent_addr: str) -> RPCClient:
        """The client for `agent_addr` (e.g. "tcp://127.0.0.1:6001"), created on first use."""
        client = self._clients.get(agent_addr)
        if client is None:
            client = RPCClient(agent_addr, default_timeout=self.default_timeout)
            self._clients[agent_addr] = client
        return client

    async def call(self, agent_addr: str, method: str, *args: Any,
                   timeout: float | None = None, **kwargs: Any) -> Any:
        return await self.get(agent_addr).call(method, *args, timeout=timeout, **kwargs)

    async def forget(self, agent_addr: str) -> None:
        """Drop the connection (an agent re-registered under a new address, or went away)."""
        client = self._clients.pop(agent_addr, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        async with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
