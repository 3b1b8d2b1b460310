"""The agent's RPC interface for the manager (msgpack RPC over ZeroMQ, common.rpc).

Method names and arguments are the manager <-> agent contract; shapes follow
common.agent_types. Every call is bounded by a timeout on this side too, so a stuck Docker
call cannot pile requests up; kernel creation keeps running in the background when its call
times out, and a repeated create_kernels joins it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import zmq.asyncio

from ai.backend.common.rpc import RPCServer

from .agent import AbstractAgent
from .exceptions import AgentNotReady

log = logging.getLogger(__name__)

# method -> (timeout in seconds, or None to use [agent] rpc-timeout)
TIMEOUTS: dict[str, float | None] = {
    "ping": 10, "gather_hwinfo": 30, "agent_info": 30,
    "create_kernels": None, "destroy_kernel": 120, "restart_kernel": 180,
    "interrupt_kernel": 30, "execute": 120, "get_completions": 30, "get_logs": 60,
    "upload_file": 300, "download_file": 300, "list_files": 60,
    "start_service": 120, "shutdown_service": 60,
    "check_and_pull": None, "sync_kernel_registry": 300,
}


class AgentRPCServer:
    def __init__(self, agent: AbstractAgent, bind_addr: str, *, ctx: zmq.asyncio.Context | None = None) -> None:
        self.agent = agent
        self.server = RPCServer(bind_addr, ctx=ctx)
        default = float(agent.config["agent"]["rpc-timeout"])
        for name, timeout in TIMEOUTS.items():
            handler = getattr(self, name)
            self.server.register(name, self._bounded(name, handler, timeout or default))

    def _bounded(self, name: str, func: Callable[..., Awaitable[Any]], timeout: float) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if not self.agent.ready and name != "ping":
                raise AgentNotReady(f"agent {self.agent.id} is starting or stopping")
            try:
                return await asyncio.wait_for(func(*args, **kwargs), timeout)
            except TimeoutError:
                raise TimeoutError(f"{name} did not finish in {timeout:.0f}s on the agent") from None

        return call

    async def start(self) -> None:
        await self.server.start()

    async def close(self) -> None:
        await self.server.close()

    @property
    def bound_port(self) -> int:
        return self.server.bound_port

    # --- the methods ---------------------------------------------------------------------

    async def ping(self, msg: str = "") -> str:
        return msg

    async def gather_hwinfo(self) -> dict[str, Any]:
        return await self.agent.gather_hwinfo()

    async def agent_info(self) -> dict[str, Any]:
        return dict(await self.agent.agent_info())

    async def create_kernels(self, session_id: Any, kernel_configs: list[Any], cluster_info: Any = None) -> list[Any]:
        return list(await self.agent.create_kernels(session_id, kernel_configs, cluster_info))

    async def destroy_kernel(self, kernel_id: Any, session_id: Any = None, reason: str = "user-requested") -> dict[str, Any]:
        return await self.agent.destroy_kernel(kernel_id, session_id, reason)

    async def restart_kernel(self, kernel_id: Any) -> dict[str, Any]:
        return dict(await self.agent.restart_kernel(kernel_id))

    async def interrupt_kernel(self, kernel_id: Any) -> None:
        await self.agent.get_kernel(kernel_id).interrupt()

    async def execute(self, kernel_id: Any, run_id: str | None, mode: str, code: str,
                      opts: dict[str, Any] | None = None, flush_timeout: float | None = None) -> dict[str, Any]:
        return await self.agent.execute(kernel_id, run_id, mode, code, opts, flush_timeout)

    async def get_completions(self, kernel_id: Any, code: str, opts: dict[str, Any] | None = None) -> list[str]:
        return await self.agent.get_kernel(kernel_id).complete(code, opts or {})

    async def get_logs(self, kernel_id: Any) -> dict[str, str]:
        return {"logs": await self.agent.get_kernel(kernel_id).get_logs()}

    async def upload_file(self, kernel_id: Any, filename: str, filedata: bytes) -> None:
        await self.agent.get_kernel(kernel_id).upload_file(filename, filedata)

    async def download_file(self, kernel_id: Any, filepath: str) -> bytes:
        """A tar archive of the file or directory (what the REST download sends per file)."""
        return await self.agent.get_kernel(kernel_id).download_file(filepath)

    async def list_files(self, kernel_id: Any, path: str = "/home/work") -> dict[str, Any]:
        """{"files": JSON string of [{filename, size, mode, mtime...}], "errors", "abspath"}."""
        result = await self.agent.get_kernel(kernel_id).list_files(path)
        errors = result.get("errors") or []
        return {
            "files": json.dumps(result.get("files") or []),
            "errors": "\n".join(errors) if isinstance(errors, list) else str(errors),
            "abspath": result.get("abspath", path),
        }

    async def start_service(self, kernel_id: Any, service: str, opts: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            return await self.agent.get_kernel(kernel_id).start_service(service, opts or {})
        except Exception as e:
            if type(e).__name__ in ("KernelNotFound", "KernelNotRunning"):
                raise
            return {"status": "failed", "error": str(e)}

    async def shutdown_service(self, kernel_id: Any, service: str) -> dict[str, Any]:
        return await self.agent.get_kernel(kernel_id).shutdown_service(service)

    async def check_and_pull(self, images: list[Any]) -> dict[str, str]:
        return await self.agent.check_and_pull(images)

    async def sync_kernel_registry(self, kernels: list[Any]) -> dict[str, list[str]]:
        return await self.agent.sync_kernel_registry(kernels)
