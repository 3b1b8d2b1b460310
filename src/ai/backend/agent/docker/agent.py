"""DockerAgent: kernels as containers on the local dockerd.

Each container gets the krunner runtime at /opt/backend.ai (read-only) with our kernel runner
package mounted into its site-packages, its scratch directory at /home/work, cgroup limits
from the allocation, published ports from the port range, and labels naming the kernel and
this agent. A restarted agent lists the containers labelled with its id and adopts them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import aiodocker
from aiodocker.exceptions import DockerError

import ai.backend.kernel as kernel_package
from ai.backend.common.agent_types import ClusterInfo, KernelCreationConfig, ServicePort
from ai.backend.common.events.kernel import KernelTerminatedEvent
from ai.backend.common.status import KernelStatus
from ai.backend.common.types import BinarySize

from ..agent import AbstractAgent
from ..exceptions import ImageNotAvailable, KernelCreationFailed
from ..intrinsic import CPUPlugin, MemoryPlugin
from ..kernel import AbstractKernel
from ..resources import KernelResourceSpec, ResourceManager, load_accelerator_plugins
from ..stats import node_stat
from . import spec as S
from .kernel import DockerKernel
from .krunner import ensure_krunner, site_packages
from .ports import PortPool
from .scratch import prepare_scratch, remove_scratch, scratch_mounts
from .stats import parse_docker_stat, read_cgroup_stat

log = logging.getLogger(__name__)

RECONCILE_INTERVAL = 2.0
PORT_CONFLICT_HINTS = ("port is already allocated", "address already in use")


class DockerAgent(AbstractAgent):
    backend = "docker"

    def __init__(self, config: Any, *, docker: aiodocker.Docker | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.docker = docker or aiodocker.Docker()
        cc = config["container"]
        self.port_pool = PortPool(cc["port-range"])
        self.scratch_root = Path(cc["scratch-root"]).resolve()
        self.uid, self.gid = int(cc["kernel-uid"]), int(cc["kernel-gid"])
        self.bind_host = cc["bind-host"]
        self.runner_host = self.bind_host if self.bind_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        self.kernel_package_dir = Path(kernel_package.__file__).resolve().parent
        self._network_lock = asyncio.Lock()

    async def init(self) -> None:
        try:
            await self.docker.version()
        except Exception as e:
            raise RuntimeError(f"dockerd is not reachable ({e}); start it first") from None
        missing = [f for f in ("__main__.py", "runner.py", "repl_child.py") if not (self.kernel_package_dir / f).is_file()]
        if missing:
            raise RuntimeError(f"the kernel runner package at {self.kernel_package_dir} lacks {', '.join(missing)}")
        cc = self.config["container"]
        self.krunner_dir = await ensure_krunner(cc["krunner-path"], cc["krunner-version"])
        self.krunner_kernel_mount = "/opt/backend.ai/" + str(
            (site_packages(self.krunner_dir) / "ai" / "backend" / "kernel").relative_to(self.krunner_dir)
        )
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        await super().init()
        self._loops.append(asyncio.create_task(self._reconcile_loop(), name=f"reconcile-{self.id}"))

    async def close_backend(self) -> None:
        await self.docker.close()

    # --- resources and images ------------------------------------------------------------

    async def load_resources(self) -> ResourceManager:
        plugins: dict[str, Any] = {"cpu": CPUPlugin({}, self.config), "mem": MemoryPlugin({}, self.config)}
        plugins.update(await load_accelerator_plugins(
            self.config["agent"]["allow-compute-plugins"], plugin_config=self.plugin_config,
            local_config=self.config, blocked=self.config["agent"]["block-compute-plugins"],
        ))
        return await ResourceManager.create(plugins)

    async def scan_images(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for img in await self.docker.images.list():
            if "ai.backend.kernelspec" in (img.get("Labels") or {}):
                found.extend((tag, img["Id"]) for tag in img.get("RepoTags") or [] if tag != "<none>:<none>")
        return sorted(found)

    async def image_exists(self, image: str) -> bool:
        try:
            await self.docker.images.inspect(image)
            return True
        except DockerError as e:
            if e.status == 404:
                return False
            raise

    async def pull_image(self, image: str) -> None:
        timeout = float(self.config["agent"]["image-pull-timeout"])
        try:
            await asyncio.wait_for(self.docker.images.pull(image), timeout)
        except DockerError as e:
            raise ImageNotAvailable(
                f"image {image} is not on agent {self.id} and pulling it failed: {e.message}. "
                "No registry may be reachable from this node; build or load the image into its dockerd."
            ) from None
        except TimeoutError:
            raise ImageNotAvailable(f"pulling image {image} did not finish in {timeout:.0f}s") from None
        if not await self.image_exists(image):
            raise ImageNotAvailable(f"image {image} is still missing after pulling it")

    # --- kernel creation -----------------------------------------------------------------

    def make_kernel(self, config: KernelCreationConfig, cluster_info: ClusterInfo | None) -> AbstractKernel:
        kernel = DockerKernel(config, agent_id=self.id, cluster_info=cluster_info)
        kernel.bind_docker(self.docker, self.scratch_root / str(kernel.kernel_id))
        kernel.kernel_host = self.config["container"]["advertised-host"]
        return kernel

    async def prepare_kernel(self, kernel: AbstractKernel) -> None:
        assert isinstance(kernel, DockerKernel) and kernel.resource_spec is not None
        cfg = kernel.config
        await asyncio.to_thread(
            prepare_scratch, self.scratch_root, str(kernel.kernel_id), uid=self._uid(kernel), gid=self._gid(kernel),
            bootstrap_script=cfg.get("bootstrap_script"), resource_slots=kernel.resource_spec.slots.to_json(),
            ssh_keypair=_cluster(kernel).get("ssh_keypair"),
        )

    def _uid(self, kernel: AbstractKernel) -> int:
        return int(kernel.config.get("uid") or self.uid)

    def _gid(self, kernel: AbstractKernel) -> int:
        return int(kernel.config.get("gid") or self.gid)

    async def start_kernel(self, kernel: AbstractKernel) -> None:
        assert isinstance(kernel, DockerKernel) and kernel.resource_spec is not None
        cfg, rspec = kernel.config, kernel.resource_spec
        labels = (await self.docker.images.inspect(kernel.image))["Config"].get("Labels") or {}
        kernel.image_labels = labels
        kernel.service_ports = S.service_ports_for(labels, cfg.get("preopen_ports") or [])
        uid, gid = self._uid(kernel), self._gid(kernel)
        env = S.kernel_environ(
            cfg, kernel.cluster_info, labels, cores=int(rspec.slots.get("cpu", 0)), uid=uid, gid=gid,
            plugin_env=await self.resources.environ(rspec),
        )
        kernel.network = await self._ensure_network(kernel)
        container_ports = [S.REPL_IN_PORT, S.REPL_OUT_PORT] + [
            cp for sp in kernel.service_ports for cp in sp["container_ports"]
        ]
        host_config: dict[str, Any] = {
            "Mounts": [
                {"Type": "bind", "Source": str(self.krunner_dir), "Target": S.KRUNNER_MOUNT, "ReadOnly": True},
                {"Type": "bind", "Source": str(self.kernel_package_dir), "Target": self.krunner_kernel_mount,
                 "ReadOnly": True},
                *scratch_mounts(self.scratch_root / str(kernel.kernel_id)),
                *S.validate_mounts(cfg.get("mounts") or []),
            ],
            "ShmSize": int(_shmem(cfg, self.config)),
            "SecurityOpt": ["no-new-privileges"],
            "NetworkMode": kernel.network or "bridge",
            "RestartPolicy": {"Name": "no"},
        }
        for key, value in (await self.resources.docker_args(rspec)).get("HostConfig", {}).items():
            host_config[key] = value
        command = S.runner_command(uid=uid, gid=gid, runtime_type=labels.get("ai.backend.runtime-type", "app"),
                                   runtime_path=labels.get("ai.backend.runtime-path"))
        body: dict[str, Any] = {
            "Image": kernel.image,
            "Hostname": cfg.get("cluster_hostname") or "main1",
            "Env": [f"{k}={v}" for k, v in env.items()],
            "Labels": S.kernel_labels(cfg, agent_id=self.id, resource_spec=rspec.to_json(),
                                      service_ports=kernel.service_ports, network=kernel.network),
            "Entrypoint": command[:1],
            "Cmd": command[1:],
            "User": "0:0",
            "WorkingDir": S.WORKDIR,
            "ExposedPorts": {f"{p}/tcp": {} for p in container_ports},
            "HostConfig": host_config,
        }
        if kernel.network:
            body["NetworkingConfig"] = {"EndpointsConfig": {kernel.network: {"Aliases": [body["Hostname"]]}}}
        container = await self._create_and_start(kernel, body, container_ports)
        await self._read_container(kernel, await container.show())
        runner = await kernel.connect_runner(self.runner_host, kernel.repl_in_port, kernel.repl_out_port)
        try:
            await runner.wait_ready(float(self.config["agent"]["kernel-start-timeout"]),
                                    alive=lambda: self._is_running(kernel))
        except Exception as e:
            logs = (await kernel.get_logs())[-2000:]
            raise KernelCreationFailed(f"{e}; container log tail:\n{logs}") from None

    async def _create_and_start(self, kernel: DockerKernel, body: dict[str, Any], container_ports: list[int]) -> Any:
        name = f"kernel.{kernel.kernel_id}"
        for _attempt in range(8):
            host_ports = self.port_pool.acquire(len(container_ports))
            body["HostConfig"]["PortBindings"] = S.port_bindings(self.bind_host, container_ports, host_ports)
            container = None
            try:
                container = await self.docker.containers.create(body, name=name)
                kernel.container_id = container.id
                kernel.host_ports = host_ports
                await container.start()
                return container
            except DockerError as e:
                if container is not None:
                    await _force_delete(container)
                    kernel.container_id = None
                kernel.host_ports = []
                msg = str(e.message)
                if any(h in msg for h in PORT_CONFLICT_HINTS):
                    self.port_pool.quarantine(host_ports)
                    continue
                self.port_pool.release(host_ports)
                if e.status == 409 and await self._remove_stale_container(name):
                    continue
                raise KernelCreationFailed(f"dockerd refused the container: {msg}") from None
        raise KernelCreationFailed("could not find free host ports for the container")

    async def _remove_stale_container(self, name: str) -> bool:
        """A container of this name left by an earlier attempt of this agent is removed."""
        try:
            info = await self.docker.containers.container(name).show()
        except DockerError:
            return False
        if (info["Config"].get("Labels") or {}).get(S.LABEL_AGENT_ID) != self.id:
            return False
        await _force_delete(self.docker.containers.container(info["Id"]))
        return True

    async def _read_container(self, kernel: DockerKernel, info: dict[str, Any]) -> None:
        """Container id, pid and the host ports actually bound (also when dockerd chose them)."""
        kernel.container_id = info["Id"]
        kernel.pid = info["State"].get("Pid") or None
        ports = info["NetworkSettings"].get("Ports") or {}

        def host_port(cp: int) -> int:
            bound = ports.get(f"{cp}/tcp") or []
            if not bound:
                raise KernelCreationFailed(f"container port {cp} is not published")
            return int(bound[0]["HostPort"])

        kernel.repl_in_port = host_port(S.REPL_IN_PORT)
        kernel.repl_out_port = host_port(S.REPL_OUT_PORT)
        for sp in kernel.service_ports:
            sp["host_ports"] = [host_port(cp) for cp in sp["container_ports"]]
        used = [kernel.repl_in_port, kernel.repl_out_port, *(p for sp in kernel.service_ports for p in sp["host_ports"])]
        kernel.host_ports = list(used)
        self.port_pool.mark_used(used)

    async def _is_running(self, kernel: AbstractKernel) -> bool:
        if not kernel.container_id:
            return False
        try:
            info = await self.docker.containers.container(kernel.container_id).show()
        except DockerError:
            return False
        return bool(info["State"].get("Running"))

    async def _ensure_network(self, kernel: AbstractKernel) -> str | None:
        name = _cluster(kernel).get("network_name")
        if not name:
            return None
        async with self._network_lock:
            try:
                await self.docker.networks.get(name)
            except DockerError as e:
                if e.status != 404:
                    raise
                await self.docker.networks.create({
                    "Name": name, "Driver": "bridge",
                    "Labels": {S.LABEL_AGENT_ID: self.id, S.LABEL_SESSION_ID: str(kernel.session_id)},
                })
        return name

    async def _release_network(self, kernel: DockerKernel) -> None:
        name = kernel.network
        if not name or any(getattr(k, "network", None) == name for k in self.kernel_registry.values() if k is not kernel):
            return
        async with self._network_lock:
            try:
                net = await self.docker.networks.get(name)
                info = await net.show()
                if (info.get("Labels") or {}).get(S.LABEL_AGENT_ID) == self.id and not info.get("Containers"):
                    await net.delete()
            except DockerError as e:
                log.warning("could not remove network %s: %s", name, e.message)

    # --- termination ---------------------------------------------------------------------

    async def stop_kernel(self, kernel: AbstractKernel) -> int | None:
        assert isinstance(kernel, DockerKernel)
        if not kernel.container_id:
            return None
        try:
            kernel.last_stat = await self.collect_kernel_stat(kernel) or kernel.last_stat
        except Exception:
            pass
        container = self.docker.containers.container(kernel.container_id)
        try:
            await container.stop(t=3)
            info = await container.show()
            return int(info["State"]["ExitCode"])
        except DockerError as e:
            if e.status == 404:
                return None
            raise

    async def cleanup_kernel(self, kernel: AbstractKernel) -> None:
        assert isinstance(kernel, DockerKernel)
        await kernel.close()
        if kernel.container_id and not self.config["debug"].get("skip-container-deletion"):
            await _force_delete(self.docker.containers.container(kernel.container_id))
        self.port_pool.release(kernel.host_ports)
        kernel.host_ports = []
        await self._release_network(kernel)
        await asyncio.to_thread(remove_scratch, self.scratch_root, str(kernel.kernel_id))

    async def restart_kernel_backend(self, kernel: AbstractKernel) -> None:
        assert isinstance(kernel, DockerKernel) and kernel.container_id
        await kernel.close()
        container = self.docker.containers.container(kernel.container_id)
        await container.restart(t=3)
        await self._read_container(kernel, await container.show())
        runner = await kernel.connect_runner(self.runner_host, kernel.repl_in_port, kernel.repl_out_port)
        kernel.status = KernelStatus.RUNNING
        await runner.wait_ready(float(self.config["agent"]["kernel-start-timeout"]),
                                alive=lambda: self._is_running(kernel))

    # --- adoption after a restart --------------------------------------------------------

    async def _own_containers(self) -> list[Any]:
        return await self.docker.containers.list(
            all=True, filters=json.dumps({"label": [f"{S.LABEL_AGENT_ID}={self.id}"]}),
        )

    async def recover_kernels(self) -> None:
        for c in await self._own_containers():
            try:
                await self._adopt(await c.show())
            except Exception:
                log.exception("could not adopt container %s", c.id)

    async def _adopt(self, info: dict[str, Any]) -> None:
        labels = info["Config"].get("Labels") or {}
        cfg = json.loads(labels[S.LABEL_KERNEL_CONFIG])
        kernel = self.make_kernel(cfg, None)
        assert isinstance(kernel, DockerKernel)
        kernel.resource_spec = KernelResourceSpec.from_json(json.loads(labels.get(S.LABEL_RESOURCE_SPEC) or "{}"))
        kernel.service_ports = [
            cast(ServicePort, {**p, "host_ports": []}) for p in json.loads(labels.get(S.LABEL_SERVICE_PORTS) or "[]")
        ]
        kernel.network = labels.get(S.LABEL_NETWORK)
        kernel.container_id = info["Id"]
        state = info["State"]
        if not state.get("Running"):
            kernel.exit_code = state.get("ExitCode")
            reason = "oom-killed" if state.get("OOMKilled") else "self-terminated"
            log.info("kernel %s ended while the agent was away (%s)", kernel.kernel_id, reason)
            await self.cleanup_kernel(kernel)
            kernel.status = KernelStatus.TERMINATED
            self._terminated[kernel.kernel_id] = (kernel.status_info(), time.monotonic())
            await self.produce_event(KernelTerminatedEvent(kernel.kernel_id, kernel.session_id,
                                                           reason=reason, exit_code=kernel.exit_code))
            return
        try:
            self.resources.restore(kernel.resource_spec)
        except Exception as e:
            log.warning("kernel %s: its recorded allocation does not fit this agent any more (%s)", kernel.kernel_id, e)
        await self._read_container(kernel, info)
        kernel.status = KernelStatus.RUNNING
        self.kernel_registry[kernel.kernel_id] = kernel
        await kernel.connect_runner(self.runner_host, kernel.repl_in_port, kernel.repl_out_port)
        log.info("adopted running kernel %s (container %s)", kernel.kernel_id, kernel.container_id[:12])

    async def _reconcile_loop(self) -> None:
        """Notice containers that ended by themselves (or were removed behind our back)."""
        while True:
            await asyncio.sleep(RECONCILE_INTERVAL)
            try:
                states = {c["Labels"].get(S.LABEL_KERNEL_ID): c for c in await self._own_containers()}
                known = {str(k) for k in (*self.kernel_registry, *self._creating)}
                for kid_str, c in states.items():
                    if kid_str not in known and c["State"] != "removing":
                        # e.g. created by a call that was cancelled mid-way: nobody owns it
                        log.warning("removing orphan container %s of unknown kernel %s", c.id[:12], kid_str)
                        await _force_delete(c)
                for kid, kernel in list(self.kernel_registry.items()):
                    if kernel.status != KernelStatus.RUNNING:
                        continue
                    c = states.get(str(kid))
                    if c is None:
                        self.spawn(self.on_kernel_exited(kid, None, "container-vanished"))
                    elif c["State"] not in ("running", "restarting", "paused"):
                        info = await c.show()
                        reason = "oom-killed" if info["State"].get("OOMKilled") else "self-terminated"
                        self.spawn(self.on_kernel_exited(kid, info["State"].get("ExitCode"), reason))
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("container reconciliation failed: %r", e)

    # --- stats ---------------------------------------------------------------------------

    async def collect_kernel_stat(self, kernel: AbstractKernel) -> dict[str, Any] | None:
        assert isinstance(kernel, DockerKernel)
        cores = int(kernel.resource_spec.slots.get("cpu", 0)) if kernel.resource_spec else 0
        if self.config["container"]["stats-type"] == "cgroup" and kernel.pid:
            stat = await asyncio.to_thread(read_cgroup_stat, kernel.pid, cores)
            if stat is not None:
                return stat
        if not kernel.container_id:
            return None
        raw = await self.docker.containers.container(kernel.container_id).stats(stream=False)
        return parse_docker_stat(raw[0], cores) if raw else None

    async def collect_node_stat(self) -> dict[str, Any]:
        stat = node_stat()
        for key, plugin in self.resources.plugins.items():
            measures = await plugin.gather_node_measures()
            if measures:
                stat[key] = {m: {d: str(v) for d, v in per.items()} for m, per in measures.items()}
        return stat


def _cluster(kernel: AbstractKernel) -> Mapping[str, Any]:
    return kernel.cluster_info or {}


async def _force_delete(container: Any) -> None:
    try:
        await container.delete(force=True, v=True)
    except DockerError as e:
        if e.status != 404:
            log.warning("could not remove container %s: %s", container.id, e.message)


def _shmem(cfg: KernelCreationConfig, config: Any) -> int:
    raw = (cfg.get("resource_opts") or {}).get("shmem")
    return int(BinarySize.from_str(raw)) if raw else int(config["container"]["default-shmem"])

