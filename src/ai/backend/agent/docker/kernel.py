"""A kernel that is a Docker container with a kernel runner inside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiodocker

from ..kernel import RunnerKernel


class DockerKernel(RunnerKernel):
    docker: aiodocker.Docker
    pid: int | None = None
    network: str | None = None
    scratch_dir: Path | None = None
    host_ports: list[int | None]
    image_labels: dict[str, str]

    def bind_docker(self, docker: aiodocker.Docker, scratch_dir: Path) -> None:
        self.docker = docker
        self.scratch_dir = scratch_dir
        self.host_ports = []
        self.image_labels = {}

    async def get_logs(self) -> str:
        if not self.container_id:
            return ""
        container = self.docker.containers.container(self.container_id)
        lines: Any = await container.log(stdout=True, stderr=True)
        return "".join(lines)
