"""The abstract agent: kernel registry, lifecycle, events and heartbeats, whatever the backend.

Creation and destruction are idempotent because the manager re-drives them until it sees a
confirmation: a repeated create returns the existing kernel (or joins its creation in
progress); destroying an unknown kernel succeeds and still emits kernel_terminated. Every
lifecycle step is announced on the event bus, and each heartbeat carries the full list of
kernels with their statuses (plus the recently terminated ones) so the manager can always
reconcile. Backends (docker, dummy) implement the hooks at the bottom.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from ai.backend.common.agent_types import (
    AgentInfo,
    ClusterInfo,
    KernelCreationConfig,
    KernelCreationInfo,
    KernelStatusInfo,
)
from ai.backend.common.events import AbstractEvent, EventProducer
from ai.backend.common.events.agent import AgentHeartbeatEvent
from ai.backend.common.events.kernel import (
    KernelCancelledEvent,
    KernelCreatingEvent,
    KernelPreparingEvent,
    KernelPullingEvent,
    KernelStartedEvent,
    KernelTerminatedEvent,
    KernelTerminatingEvent,
)
from ai.backend.common.events.session import SessionFailureEvent, SessionSuccessEvent
from ai.backend.common.status import KernelStatus
from ai.backend.common.types import KernelId, SessionId

from . import __version__
from .exceptions import InvalidArgument, KernelCreationFailed, KernelNotFound
from .kernel import AbstractKernel, to_kernel_id, to_session_id
from .resources import ResourceManager
from .stats import StatPublisher

log = logging.getLogger(__name__)

NIL_SESSION = SessionId(uuid.UUID(int=0))
CONTAINER_LOG_KEEP = 256 * 1024   # chars of a removed container's log kept for `session logs`


class AbstractAgent(ABC):
    backend = "abstract"

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        event_producer: EventProducer | None = None,
        stat_publisher: StatPublisher | None = None,
        plugin_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.id: str = config["agent"]["id"]
        addr = config["agent"]["advertised-rpc-addr"]
        self.rpc_addr = f"tcp://{addr.host}:{addr.port}"
        self.event_producer = event_producer
        self.stat_publisher = stat_publisher
        self.plugin_config = plugin_config or {}
        self.kernel_registry: dict[KernelId, AbstractKernel] = {}
        self.resources: ResourceManager
        self._creating: dict[KernelId, asyncio.Task[KernelCreationInfo]] = {}
        self._cancel_reasons: dict[KernelId, str] = {}
        self._terminated: dict[KernelId, tuple[KernelStatusInfo, float]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[Any]] = []
        self.images: list[tuple[str, str]] = []
        self.started_at = time.time()
        self.ready = False

    # --- lifecycle of the agent ----------------------------------------------------------

    async def init(self) -> None:
        self.resources = await self.load_resources()
        self.images = await self.scan_images()
        await self.recover_kernels()
        interval = float(self.config["agent"]["heartbeat-interval"])
        self._loops.append(asyncio.create_task(self._heartbeat_loop(interval), name=f"heartbeat-{self.id}"))
        if self.stat_publisher is not None:
            every = float(self.config["container"]["stats-interval"])
            self._loops.append(asyncio.create_task(self._stats_loop(every), name=f"stats-{self.id}"))
        self.ready = True
        log.info("agent %s (%s backend) ready: %s", self.id, self.backend, self.resources.capacity().to_json())

    async def shutdown(self) -> None:
        """Stop the agent; kernels keep running and are adopted by the next start."""
        self.ready = False
        for t in self._loops:
            t.cancel()
        for t in list(self._creating.values()):
            t.cancel()
        await asyncio.gather(*self._loops, *self._creating.values(), return_exceptions=True)
        for t in list(self._background):
            t.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for kernel in list(self.kernel_registry.values()):
            await kernel.close()
        await self.resources.cleanup()
        await self.close_backend()

    def spawn(self, coro: Any, name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def produce_event(self, event: AbstractEvent) -> None:
        if self.event_producer is None:
            return
        if self.config["debug"].get("log-events"):
            log.info("event %s %s", event.name, event.serialize())
        try:
            await self.event_producer.produce_event(event, source=self.id)
        except Exception as e:
            log.warning("could not produce %s: %r", event.name, e)

    # --- heartbeats and stats ------------------------------------------------------------

    def kernel_statuses(self) -> list[KernelStatusInfo]:
        now = time.monotonic()
        retention = float(self.config["agent"]["terminated-retention"])
        for kid in [k for k, (_, ts) in self._terminated.items() if now - ts > retention]:
            del self._terminated[kid]
        live = [k.status_info() for k in self.kernel_registry.values()]
        gone = [info for kid, (info, _) in self._terminated.items() if kid not in self.kernel_registry]
        return live + gone

    async def agent_info(self) -> AgentInfo:
        return {
            "id": self.id,
            "addr": self.rpc_addr,
            "region": self.config["agent"]["region"],
            "scaling_group": self.config["agent"]["scaling-group"],
            "architecture": platform.machine(),
            "version": __version__,
            "available_resource_slots": self.resources.capacity().to_json(),
            "resource_slot_types": {k: v.value for k, v in self.resources.slot_types().items()},
            "compute_plugins": await self.resources.compute_plugin_info(),
            "images": [list(i) for i in self.images],  # type: ignore[misc]
            "kernels": self.kernel_statuses(),
            "public_host": self.config["container"]["advertised-host"],
        }

    async def heartbeat(self) -> None:
        info = await self.agent_info()
        if self.config["debug"].get("log-heartbeats"):
            log.info("heartbeat %s", info)
        await self.produce_event(AgentHeartbeatEvent(self.id, dict(info)))

    async def _heartbeat_loop(self, interval: float) -> None:
        while True:
            try:
                self.images = await self.scan_images()
                await self.heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat failed")
            await asyncio.sleep(interval)

    async def _stats_loop(self, interval: float) -> None:
        assert self.stat_publisher is not None
        while True:
            await asyncio.sleep(interval)
            try:
                for kernel in list(self.kernel_registry.values()):
                    if kernel.status == KernelStatus.RUNNING:
                        stat = await self.collect_kernel_stat(kernel)
                        if stat is not None:
                            kernel.last_stat = stat
                            await self.stat_publisher.publish_kernel(kernel.kernel_id, stat)
                await self.stat_publisher.publish_node(self.id, await self.collect_node_stat())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("collecting stats failed")

    # --- kernel creation -----------------------------------------------------------------

    async def create_kernels(
        self,
        session_id: Any,
        configs: Sequence[KernelCreationConfig],
        cluster_info: ClusterInfo | None = None,
    ) -> list[KernelCreationInfo]:
        """Create (or confirm) the kernels; raises KernelCreationFailed naming each failure."""
        sid = to_session_id(session_id)
        waiters: list[tuple[KernelId, asyncio.Future[KernelCreationInfo]]] = []
        for cfg in configs:
            if not isinstance(cfg, Mapping) or "kernel_id" not in cfg:
                raise InvalidArgument("each kernel config needs a kernel_id")
            kid = to_kernel_id(cfg["kernel_id"])
            if to_session_id(cfg.get("session_id", sid)) != sid:
                raise InvalidArgument(f"kernel {kid} belongs to session {cfg.get('session_id')}, not {sid}")
            cfg = {**cfg, "session_id": str(sid)}  # type: ignore[typeddict-item]
            waiters.append((kid, asyncio.ensure_future(self._create_or_join(kid, cfg, cluster_info))))
        results = await asyncio.gather(*(w for _, w in waiters), return_exceptions=True)
        errors = [
            f"{kid}: " + ("creation was cancelled" if isinstance(r, asyncio.CancelledError) else str(r))
            for (kid, _), r in zip(waiters, results, strict=True) if isinstance(r, BaseException)
        ]
        if errors:
            raise KernelCreationFailed("; ".join(errors))
        return [r for r in results if not isinstance(r, BaseException)]

    async def _create_or_join(self, kid: KernelId, cfg: KernelCreationConfig,
                              cluster_info: ClusterInfo | None) -> KernelCreationInfo:
        task = self._creating.get(kid)
        if task is None:
            kernel = self.kernel_registry.get(kid)
            if kernel is not None:
                if kernel.status in (KernelStatus.RUNNING, KernelStatus.RESTARTING):
                    return kernel.creation_info()
                raise KernelCreationFailed(f"kernel {kid} is {kernel.status.value}")
            task = asyncio.create_task(self._create_kernel(kid, cfg, cluster_info), name=f"create-{kid}")
            self._creating[kid] = task
            task.add_done_callback(lambda _: self._creating.pop(kid, None))
        return await asyncio.shield(task)

    async def _create_kernel(self, kid: KernelId, cfg: KernelCreationConfig,
                             cluster_info: ClusterInfo | None) -> KernelCreationInfo:
        kernel = self.make_kernel(cfg, cluster_info)
        sid = kernel.session_id
        self.kernel_registry[kid] = kernel
        if self.config["debug"].get("log-kernel-config"):
            log.info("creating kernel %s: %s", kid, {k: v for k, v in cfg.items() if k != "environ"})
        await self.produce_event(KernelPreparingEvent(kid, sid))
        try:
            kernel.resource_spec = self.resources.allocate(cfg.get("resource_slots") or {})
            await self.prepare_kernel(kernel)
            if not await self.image_exists(kernel.image):
                kernel.status = KernelStatus.PULLING
                await self.produce_event(KernelPullingEvent(kid, sid, reason=kernel.image))
                await self.pull_image(kernel.image)
            kernel.status = KernelStatus.CREATING
            await self.produce_event(KernelCreatingEvent(kid, sid))
            await self.start_kernel(kernel)
        except BaseException as e:
            if isinstance(e, asyncio.CancelledError):
                reason = self._cancel_reasons.pop(kid, "agent-shutdown")
            else:
                reason = f"{type(e).__name__}: {e}"
            log.warning("kernel %s creation failed: %s", kid, reason)
            try:
                await self.cleanup_kernel(kernel)
            except Exception:
                log.exception("cleaning up the failed kernel %s", kid)
            if kernel.resource_spec is not None:
                self.resources.release(kernel.resource_spec)
            self.kernel_registry.pop(kid, None)
            await kernel.close()
            await self.produce_event(KernelCancelledEvent(kid, sid, reason=reason))
            raise
        kernel.status = KernelStatus.RUNNING
        info = kernel.creation_info()
        await self.produce_event(KernelStartedEvent(kid, sid, creation_info=dict(info)))
        if cfg.get("session_type") == "batch" and cfg.get("cluster_role", "main") == "main" and cfg.get("startup_command"):
            self.spawn(self._run_batch(kernel, str(cfg["startup_command"])), name=f"batch-{kid}")
        return info

    async def _run_batch(self, kernel: AbstractKernel, command: str) -> None:
        """A batch session's startup command; its exit code decides success or failure."""
        try:
            result = await kernel.execute(None, "batch", "", {"exec": command}, 30.0)
            while result["status"] != "finished":
                result = await kernel.execute(result["runId"], "continue", "", {}, 30.0)
            code = int(result["exitCode"] if result["exitCode"] is not None else -1)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("batch command of kernel %s failed: %r", kernel.kernel_id, e)
            code = -1
        event = SessionSuccessEvent if code == 0 else SessionFailureEvent
        await self.produce_event(event(kernel.session_id, reason=f"exit-code:{code}", exit_code=code))

    # --- kernel termination --------------------------------------------------------------

    async def destroy_kernel(self, kernel_id: Any, session_id: Any = None, reason: str = "user-requested") -> dict[str, Any]:
        kid = to_kernel_id(kernel_id)
        task = self._creating.get(kid)
        if task is not None:
            self._cancel_reasons[kid] = f"destroyed while being created ({reason})"
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        kernel = self.kernel_registry.get(kid)
        if kernel is None:
            known = self._terminated.get(kid)
            sid = to_session_id(session_id) if session_id else (
                to_session_id(known[0]["session_id"]) if known else NIL_SESSION)
            exit_code = known[0].get("exit_code") if known else None
            await self.produce_event(KernelTerminatedEvent(kid, sid, reason="already-terminated", exit_code=exit_code))
            return {"kernel_id": str(kid), "exit_code": exit_code, "last_stat": None}
        async with kernel.lock:
            if self.kernel_registry.get(kid) is not kernel:  # destroyed while we waited
                return {"kernel_id": str(kid), "exit_code": kernel.exit_code, "last_stat": kernel.last_stat}
            kernel.status = KernelStatus.TERMINATING
            await self.produce_event(KernelTerminatingEvent(kid, kernel.session_id, reason=reason))
            exit_code = await self.stop_kernel(kernel)
            await self._finalize(kernel, exit_code, reason)
        return {"kernel_id": str(kid), "exit_code": kernel.exit_code, "last_stat": kernel.last_stat}

    async def on_kernel_exited(self, kid: KernelId, exit_code: int | None, reason: str) -> None:
        """The backend saw a kernel end by itself (exit, OOM, removal)."""
        kernel = self.kernel_registry.get(kid)
        if kernel is None or kernel.status != KernelStatus.RUNNING:
            return
        async with kernel.lock:
            if self.kernel_registry.get(kid) is not kernel or kernel.status != KernelStatus.RUNNING:
                return
            log.info("kernel %s exited by itself (%s, exit code %s)", kid, reason, exit_code)
            kernel.status = KernelStatus.TERMINATING
            await self.produce_event(KernelTerminatingEvent(kid, kernel.session_id, reason=reason))
            code = await self.stop_kernel(kernel)
            await self._finalize(kernel, exit_code if exit_code is not None else code, reason)

    async def _finalize(self, kernel: AbstractKernel, exit_code: int | None, reason: str) -> None:
        kernel.exit_code = exit_code
        kernel.status = KernelStatus.TERMINATED
        container_log: str | None = None
        try:   # keep the log before the container is removed (the manager stores it)
            container_log = (await kernel.get_logs())[-CONTAINER_LOG_KEEP:]
        except Exception:
            log.debug("no container log for kernel %s", kernel.kernel_id, exc_info=True)
        try:
            await self.cleanup_kernel(kernel)
        except Exception:
            log.exception("cleaning up kernel %s", kernel.kernel_id)
        if kernel.resource_spec is not None:
            self.resources.release(kernel.resource_spec)
        self.kernel_registry.pop(kernel.kernel_id, None)
        self._terminated[kernel.kernel_id] = (kernel.status_info(), time.monotonic())
        await kernel.close()
        if self.stat_publisher is not None:
            await self.stat_publisher.forget_kernel(kernel.kernel_id)
        await self.produce_event(KernelTerminatedEvent(kernel.kernel_id, kernel.session_id, reason=reason,
                                                       exit_code=exit_code, container_log=container_log))

    async def restart_kernel(self, kernel_id: Any) -> KernelCreationInfo:
        kernel = self.get_kernel(kernel_id)
        async with kernel.lock:
            kernel.ensure_running()
            kernel.status = KernelStatus.RESTARTING
            try:
                await self.restart_kernel_backend(kernel)
            finally:
                kernel.status = KernelStatus.RUNNING
        return kernel.creation_info()

    async def sync_kernel_registry(self, kernels: Sequence[Sequence[Any]]) -> dict[str, list[str]]:
        """Reconcile with the manager's view: [(kernel_id, session_id), ...] it thinks run here.

        Kernels the manager lists but this agent lacks get kernel_terminated; running kernels
        the manager does not know are destroyed.
        """
        known = {to_kernel_id(k): to_session_id(s) for k, s in kernels}
        missing = [kid for kid in known if kid not in self.kernel_registry and kid not in self._creating]
        for kid in missing:
            info = self._terminated.get(kid)
            await self.produce_event(KernelTerminatedEvent(
                kid, known[kid], reason="already-terminated", exit_code=info[0].get("exit_code") if info else None))
        unknown = [kid for kid, k in self.kernel_registry.items()
                   if kid not in known and k.status == KernelStatus.RUNNING]
        for kid in unknown:
            await self.destroy_kernel(kid, reason="terminated-unknown-container")
        return {"missing": [str(k) for k in missing], "terminated": [str(k) for k in unknown]}

    # --- operations on running kernels ---------------------------------------------------

    def get_kernel(self, kernel_id: Any) -> AbstractKernel:
        kid = to_kernel_id(kernel_id)
        kernel = self.kernel_registry.get(kid)
        if kernel is None:
            raise KernelNotFound(f"no kernel {kid} on agent {self.id}")
        return kernel

    async def execute(self, kernel_id: Any, run_id: str | None, mode: str, code: str,
                      opts: Mapping[str, Any] | None = None, flush_timeout: float | None = None) -> dict[str, Any]:
        kernel = self.get_kernel(kernel_id)
        if flush_timeout is None:
            flush_timeout = float(self.config["agent"]["execute-flush-timeout"])
        return await kernel.execute(run_id, mode, code or "", dict(opts or {}), flush_timeout)

    async def check_and_pull(self, images: Sequence[Any]) -> dict[str, str]:
        """Make sure the images are here; {canonical: "present" | "pulled"}."""
        result: dict[str, str] = {}
        for ref in images:
            name = ref["canonical"] if isinstance(ref, Mapping) else str(ref)
            if await self.image_exists(name):
                result[name] = "present"
            else:
                await self.pull_image(name)
                result[name] = "pulled"
        self.images = await self.scan_images()
        return result

    # --- backend hooks -------------------------------------------------------------------

    @abstractmethod
    async def load_resources(self) -> ResourceManager: ...

    @abstractmethod
    async def scan_images(self) -> list[tuple[str, str]]: ...

    @abstractmethod
    async def image_exists(self, image: str) -> bool: ...

    @abstractmethod
    async def pull_image(self, image: str) -> None:
        """Raise ImageNotAvailable with a clear reason when it cannot be pulled."""

    @abstractmethod
    def make_kernel(self, config: KernelCreationConfig, cluster_info: ClusterInfo | None) -> AbstractKernel: ...

    async def prepare_kernel(self, kernel: AbstractKernel) -> None:
        """Before the image check: scratch space, ports (after the allocation is made)."""
        return None

    @abstractmethod
    async def start_kernel(self, kernel: AbstractKernel) -> None:
        """Create and start it; return once its runner answers."""

    @abstractmethod
    async def stop_kernel(self, kernel: AbstractKernel) -> int | None:
        """Stop it (if still running); return the exit code if known."""

    @abstractmethod
    async def cleanup_kernel(self, kernel: AbstractKernel) -> None:
        """Remove what the kernel left (container, scratch, ports); also after failed creation."""

    @abstractmethod
    async def restart_kernel_backend(self, kernel: AbstractKernel) -> None: ...

    @abstractmethod
    async def recover_kernels(self) -> None:
        """Adopt the kernels a previous run of this agent left running."""

    async def collect_kernel_stat(self, kernel: AbstractKernel) -> dict[str, Any] | None:
        return None

    async def collect_node_stat(self) -> dict[str, Any]:
        return {}

    async def gather_hwinfo(self) -> dict[str, Any]:
        return await self.resources.hwinfo()

    async def close_backend(self) -> None:
        return None
