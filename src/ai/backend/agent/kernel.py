"""A kernel as the agent tracks it: identity, allocation, status, ports, and what it can do.

Backends subclass AbstractKernel. RunnerKernel is the common case: a container (or process)
with a kernel runner, reached through a KernelRunnerChannel.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from ai.backend.common.agent_types import (
    ClusterInfo,
    KernelCreationConfig,
    KernelCreationInfo,
    KernelStatusInfo,
    ServicePort,
)
from ai.backend.common.status import KernelStatus
from ai.backend.common.types import KernelId, SessionId

from .exceptions import InvalidArgument, KernelNotRunning
from .resources import KernelResourceSpec
from .runner_channel import KernelRunnerChannel


def to_kernel_id(value: Any) -> KernelId:
    try:
        return KernelId(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise InvalidArgument(f"invalid kernel id {value!r}") from None


def to_session_id(value: Any) -> SessionId:
    try:
        return SessionId(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise InvalidArgument(f"invalid session id {value!r}") from None


class AbstractKernel(ABC):
    def __init__(
        self,
        config: KernelCreationConfig,
        *,
        agent_id: str,
        cluster_info: ClusterInfo | None = None,
        resource_spec: KernelResourceSpec | None = None,
        status: KernelStatus = KernelStatus.PREPARING,
    ) -> None:
        self.config = config
        self.kernel_id = to_kernel_id(config["kernel_id"])
        self.session_id = to_session_id(config["session_id"])
        self.agent_id = agent_id
        self.cluster_info = cluster_info
        self.resource_spec = resource_spec
        self.status = status
        self.container_id: str | None = None
        self.kernel_host = ""
        self.repl_in_port = 0
        self.repl_out_port = 0
        self.service_ports: list[ServicePort] = []
        self.exit_code: int | None = None
        self.created_at = time.time()
        self.lock = asyncio.Lock()
        self.last_stat: dict[str, Any] | None = None

    @property
    def image(self) -> str:
        return self.config["image"]["canonical"]

    def creation_info(self) -> KernelCreationInfo:
        info: KernelCreationInfo = {
            "kernel_id": str(self.kernel_id),
            "container_id": self.container_id or "",
            "kernel_host": self.kernel_host,
            "repl_in_port": self.repl_in_port,
            "repl_out_port": self.repl_out_port,
            "service_ports": list(self.service_ports),
            "resource_slots": self.resource_spec.slots.to_json() if self.resource_spec else {},
        }
        return info

    def status_info(self) -> KernelStatusInfo:
        return {
            "kernel_id": str(self.kernel_id),
            "session_id": str(self.session_id),
            "status": self.status.value,
            "container_id": self.container_id,
            "exit_code": self.exit_code,
        }

    def ensure_running(self) -> None:
        if self.status != KernelStatus.RUNNING:
            raise KernelNotRunning(f"kernel {self.kernel_id} is {self.status.value}, not RUNNING")

    def find_service_port(self, name: str) -> ServicePort:
        for sp in self.service_ports:
            if sp["name"] == name:
                return sp
        raise InvalidArgument(
            f"kernel {self.kernel_id} has no service {name!r} "
            f"(available: {', '.join(sp['name'] for sp in self.service_ports) or 'none'})"
        )

    # --- operations (backend-specific) ---------------------------------------------------

    @abstractmethod
    async def execute(self, run_id: str | None, mode: str, code: str, opts: Mapping[str, Any],
                      flush_timeout: float) -> dict[str, Any]: ...

    @abstractmethod
    async def interrupt(self) -> None: ...

    @abstractmethod
    async def complete(self, code: str, opts: Mapping[str, Any]) -> list[str]: ...

    @abstractmethod
    async def start_service(self, name: str, opts: Mapping[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    async def shutdown_service(self, name: str) -> dict[str, Any]: ...

    @abstractmethod
    async def list_files(self, path: str) -> dict[str, Any]: ...

    @abstractmethod
    async def upload_file(self, path: str, data: bytes) -> str: ...

    @abstractmethod
    async def download_file(self, path: str) -> bytes: ...

    @abstractmethod
    async def get_logs(self) -> str: ...

    async def close(self) -> None:
        """Drop connections to the kernel (not the kernel itself)."""
        return None


class RunnerKernel(AbstractKernel):
    """A kernel whose operations go to its kernel runner over ZeroMQ."""

    runner: KernelRunnerChannel | None = None

    def _runner(self) -> KernelRunnerChannel:
        self.ensure_running()
        if self.runner is None:
            raise KernelNotRunning(f"kernel {self.kernel_id} has no runner connection")
        return self.runner

    async def connect_runner(self, host: str, in_port: int, out_port: int) -> KernelRunnerChannel:
        if self.runner is not None:
            await self.runner.close()
        self.runner = KernelRunnerChannel(host, in_port, out_port)
        await self.runner.connect()
        return self.runner

    async def execute(self, run_id: str | None, mode: str, code: str, opts: Mapping[str, Any],
                      flush_timeout: float) -> dict[str, Any]:
        return await self._runner().execute(run_id, mode, code, opts, flush_timeout=flush_timeout)

    async def interrupt(self) -> None:
        await self._runner().interrupt()

    async def complete(self, code: str, opts: Mapping[str, Any]) -> list[str]:
        return await self._runner().complete(code, opts)

    async def start_service(self, name: str, opts: Mapping[str, Any]) -> dict[str, Any]:
        sp = self.find_service_port(name)
        if sp["protocol"] == "preopen":
            return {"status": "running"}
        return await self._runner().start_service(name, list(sp["container_ports"]), opts)

    async def shutdown_service(self, name: str) -> dict[str, Any]:
        self.find_service_port(name)
        return await self._runner().shutdown_service(name)

    async def list_files(self, path: str) -> dict[str, Any]:
        return await self._runner().list_files(path)

    async def upload_file(self, path: str, data: bytes) -> str:
        return await self._runner().upload_file(path, data)

    async def download_file(self, path: str) -> bytes:
        return await self._runner().download_file(path)

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()
            self.runner = None
