"""The simulated (dummy) backend: kernels without Docker, with configurable delays and failures.

Everything the manager sees is real -- RPC, events, heartbeats, slot accounting through the
same allocation maps -- only the containers are imaginary. `[dummy.delays]` sets how long each
step takes and `[dummy.failures]` the probability that it fails; a kernel config may force a
failure with internal_data {"dummy": {"fail": ["create-kernel", ...]}}. Many DummyAgents can
share one process (see fleet.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import tarfile
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ai.backend.common.agent_types import ClusterInfo, KernelCreationConfig, ServicePort
from ai.backend.common.types import SlotTypes

from ..agent import AbstractAgent
from ..alloc_map import (
    AbstractAllocMap,
    DeviceAllocation,
    DeviceSlotInfo,
    DiscretePropertyAllocMap,
    FractionAllocMap,
)
from ..exceptions import ImageNotAvailable, InvalidArgument, KernelCreationFailed
from ..intrinsic import CPUPlugin, MemoryPlugin
from ..kernel import AbstractKernel
from ..resources import AbstractComputePlugin, ComputeDevice, ResourceManager

_NO_RESERVE = {"resource": {"reserved-cpu": 0, "reserved-mem": 0}}


class SimulatedFailure(Exception):
    pass


class StaticSlotPlugin(AbstractComputePlugin):
    """Extra simulated slots: "x.shares" are fractional, anything else whole devices."""

    def __init__(self, key: str, slots: Mapping[str, float]) -> None:
        super().__init__({}, {})
        self.key = key
        self.slots = {s: Decimal(str(a)) for s, a in slots.items()}

    def get_version(self) -> str:
        return "dummy"

    def slot_types(self) -> list[tuple[str, SlotTypes]]:
        return [(s, SlotTypes.COUNT) for s in self.slots]

    def _devices(self) -> dict[str, DeviceSlotInfo]:
        devices: dict[str, DeviceSlotInfo] = {}
        for slot, amount in self.slots.items():
            if slot.endswith(".shares"):
                devices[f"{slot}:0"] = DeviceSlotInfo(SlotTypes.COUNT, slot, amount)
            else:
                for i in range(int(amount)):
                    devices[f"{slot}:{i}"] = DeviceSlotInfo(SlotTypes.COUNT, slot, Decimal(1))
        return devices

    async def list_devices(self) -> list[ComputeDevice]:
        return [ComputeDevice(d, d, None, 0, 1, "simulated") for d in self._devices()]

    async def available_slots(self) -> dict[str, Decimal]:
        return dict(self.slots)

    async def create_alloc_map(self) -> AbstractAllocMap:
        devices = self._devices()
        if any(s.endswith(".shares") for s in self.slots):
            return FractionAllocMap(devices)
        return DiscretePropertyAllocMap(devices)

    async def generate_environ(self, device_alloc: DeviceAllocation) -> dict[str, str]:
        return {}


class DummyKernel(AbstractKernel):
    agent: DummyAgent

    def bind(self, agent: DummyAgent) -> None:
        self.agent = agent
        self.files: dict[str, bytes] = {}
        self.runs: dict[str, list[str]] = {}
        self.services_running: set[str] = set()

    async def execute(self, run_id: str | None, mode: str, code: str, opts: Mapping[str, Any],
                      flush_timeout: float) -> dict[str, Any]:
        self.ensure_running()
        await self.agent.step("execute")
        run_id = run_id or uuid.uuid4().hex
        if mode == "batch":
            self.runs[run_id] = ["clean-finished", "build-finished", "finished"]
        elif mode == "query":
            self.runs[run_id] = ["finished"]
        elif mode not in ("continue", "input"):
            raise InvalidArgument(f"invalid execution mode {mode!r}")
        pending = self.runs.get(run_id)
        if not pending:
            raise InvalidArgument(f"no run {run_id!r} in progress on this kernel")
        status = pending.pop(0)
        if not pending:
            del self.runs[run_id]
        console: list[list[Any]] = []
        exit_code = 0
        if status == "finished" and self.agent.fails("execute", self):
            console.append(["stderr", "simulated execution failure\n"])
            exit_code = 1
        return {"runId": run_id, "status": status, "console": console, "exitCode": exit_code,
                "options": None, "files": []}

    async def interrupt(self) -> None:
        self.ensure_running()

    async def complete(self, code: str, opts: Mapping[str, Any]) -> list[str]:
        self.ensure_running()
        return []

    async def start_service(self, name: str, opts: Mapping[str, Any]) -> dict[str, Any]:
        self.ensure_running()
        self.find_service_port(name)
        await self.agent.step("other-ops")
        if name in self.services_running:
            return {"status": "running"}
        self.services_running.add(name)
        return {"status": "started"}

    async def shutdown_service(self, name: str) -> dict[str, Any]:
        self.ensure_running()
        self.services_running.discard(name)
        return {"status": "stopped"}

    async def list_files(self, path: str) -> dict[str, Any]:
        self.ensure_running()
        now = time.time()
        files = [{"filename": n, "size": len(d), "mode": "-rw-r--r--", "ctime": now, "mtime": now, "atime": now}
                 for n, d in sorted(self.files.items())]
        return {"files": files, "errors": [], "abspath": "/home/work"}

    async def upload_file(self, path: str, data: bytes) -> str:
        self.ensure_running()
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise InvalidArgument(f"{path}: must be a relative path inside /home/work")
        self.files[path] = data
        return f"/home/work/{path}"

    async def download_file(self, path: str) -> bytes:
        self.ensure_running()
        if path not in self.files:
            raise InvalidArgument(f"{path}: no such file")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(path.rsplit("/", 1)[-1])
            info.size = len(self.files[path])
            tar.addfile(info, io.BytesIO(self.files[path]))
        return buf.getvalue()

    async def get_logs(self) -> str:
        return f"simulated kernel {self.kernel_id} on agent {self.agent.id}\n"


class DummyAgent(AbstractAgent):
    backend = "dummy"

    def __init__(self, config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.dummy = config["dummy"]
        seed = self.dummy.get("seed")
        self.rng = random.Random(seed if seed is not None else None)
        self.image_set: set[str] = set(self.dummy["images"])
        self._next_port = 30000

    async def step(self, name: str) -> None:
        delay = float(self.dummy["delays"].get(name, 0.0))
        if delay > 0:
            await asyncio.sleep(delay)

    def fails(self, step: str, kernel: AbstractKernel | None = None) -> bool:
        if kernel is not None:
            forced = ((kernel.config.get("internal_data") or {}).get("dummy") or {}).get("fail") or []
            if step in forced:
                return True
        rate = float(self.dummy["failures"].get(step, 0.0))
        return rate > 0 and self.rng.random() < rate

    # --- backend hooks -------------------------------------------------------------------

    async def load_resources(self) -> ResourceManager:
        res = self.dummy["resources"]
        plugins: dict[str, AbstractComputePlugin] = {
            "cpu": CPUPlugin({}, _NO_RESERVE, cores=range(int(res["cpu"])), numa_nodes={}),
            "mem": MemoryPlugin({}, _NO_RESERVE, total=int(res["mem"])),
        }
        by_key: dict[str, dict[str, float]] = {}
        for slot, amount in (res.get("slots") or {}).items():
            by_key.setdefault(slot.split(".", 1)[0], {})[slot] = amount
        for key, slots in by_key.items():
            plugins[key] = StaticSlotPlugin(key, slots)
        return await ResourceManager.create(plugins)

    async def scan_images(self) -> list[tuple[str, str]]:
        return [(name, "sha256:" + hashlib.sha256(name.encode()).hexdigest()) for name in sorted(self.image_set)]

    async def image_exists(self, image: str) -> bool:
        return image in self.image_set

    async def pull_image(self, image: str) -> None:
        await self.step("pull-image")
        if self.fails("pull-image"):
            raise ImageNotAvailable(f"simulated pull failure of {image}")
        self.image_set.add(image)

    def make_kernel(self, config: KernelCreationConfig, cluster_info: ClusterInfo | None) -> AbstractKernel:
        kernel = DummyKernel(config, agent_id=self.id, cluster_info=cluster_info)
        kernel.bind(self)
        return kernel

    async def prepare_kernel(self, kernel: AbstractKernel) -> None:
        await self.step("prepare")

    async def start_kernel(self, kernel: AbstractKernel) -> None:
        await self.step("create-kernel")
        if self.fails("create-kernel", kernel):
            raise KernelCreationFailed(f"simulated creation failure of kernel {kernel.kernel_id}")
        kernel.container_id = f"dummy-{kernel.kernel_id.hex[:12]}"
        kernel.kernel_host = self.config["container"]["advertised-host"]
        kernel.repl_in_port, kernel.repl_out_port = self._ports(2)
        ports: list[ServicePort] = [
            {"name": "ttyd", "protocol": "http", "container_ports": [7681], "host_ports": self._ports(1)},
        ]
        for p in kernel.config.get("preopen_ports") or []:
            ports.append({"name": str(p), "protocol": "preopen", "container_ports": [int(p)], "host_ports": self._ports(1)})
        kernel.service_ports = ports

    def _ports(self, n: int) -> list[int]:
        out = list(range(self._next_port, self._next_port + n))
        self._next_port = self._next_port + n if self._next_port + n < 60000 else 30000
        return out

    async def stop_kernel(self, kernel: AbstractKernel) -> int | None:
        await self.step("destroy-kernel")
        if self.fails("destroy-kernel", kernel):
            raise SimulatedFailure(f"simulated destruction failure of kernel {kernel.kernel_id}")
        return 0

    async def cleanup_kernel(self, kernel: AbstractKernel) -> None:
        return None

    async def restart_kernel_backend(self, kernel: AbstractKernel) -> None:
        await self.step("restart-kernel")

    async def recover_kernels(self) -> None:
        return None  # simulated kernels do not outlive their agent
