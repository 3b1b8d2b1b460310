"""The data that crosses the manager <-> agent boundary (RPC arguments, heartbeats, events).

Plain dicts on the wire (msgpack); these TypedDicts document and type-check their shape.
Resource slots travel as {slot_name: decimal string}.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

MountPermission = Literal["ro", "rw", "wd"]


class ImageRef(TypedDict):
    canonical: str                      # "cr.backend.ai/stable/python:3.11-debian12"
    architecture: str                   # "x86_64"
    digest: NotRequired[str]
    registry: NotRequired[str]
    labels: NotRequired[dict[str, str]]


class Mount(TypedDict):
    host_path: str                      # absolute path on the agent host
    kernel_path: str                    # absolute path in the container (/home/work/NAME)
    permission: MountPermission
    name: NotRequired[str]              # the vfolder name, for display
    vfolder_id: NotRequired[str]        # the vfolder's UUID (the manager finds live mounts by it)


class ClusterInfo(TypedDict):
    mode: Literal["single-node", "multi-node"]
    size: int
    replicas: dict[str, int]            # {"main": 1, "sub": 2}
    network_name: NotRequired[str | None]   # a private bridge network for single-node clusters
    ssh_keypair: NotRequired[dict[str, str] | None]


class KernelCreationConfig(TypedDict):
    """One kernel in a create_kernels call."""

    kernel_id: str                      # UUID as a string
    session_id: str
    session_type: Literal["interactive", "batch", "inference"]
    image: ImageRef
    cluster_role: str                   # "main" | "sub"
    cluster_idx: int                    # 1-based within the role
    local_rank: int                     # 0-based across the session
    cluster_hostname: str               # "main1", "sub1", ...
    resource_slots: dict[str, str]      # the allocation decided by the scheduler
    resource_opts: NotRequired[dict[str, Any]]   # e.g. {"shmem": "64m"}
    environ: dict[str, str]
    mounts: list[Mount]
    idle_timeout: NotRequired[int]
    bootstrap_script: NotRequired[str | None]
    startup_command: NotRequired[str | None]
    preopen_ports: NotRequired[list[int]]
    uid: NotRequired[int | None]        # override the agent's kernel-uid
    gid: NotRequired[int | None]
    internal_data: NotRequired[dict[str, Any] | None]


class ServicePort(TypedDict):
    name: str
    protocol: Literal["tcp", "http", "pty", "preopen"]
    container_ports: list[int]
    host_ports: list[int]
    is_inference: NotRequired[bool]


class KernelCreationInfo(TypedDict):
    """What create_kernels returns per kernel (and KernelStartedEvent.creation_info carries)."""

    kernel_id: str
    container_id: str
    kernel_host: str                    # where the published ports are reachable
    repl_in_port: int
    repl_out_port: int
    service_ports: list[ServicePort]
    resource_slots: dict[str, str]
    attached_devices: NotRequired[dict[str, Any]]


class KernelStatusInfo(TypedDict):
    kernel_id: str
    session_id: str
    status: str                         # a KernelStatus name, as the agent sees it
    container_id: NotRequired[str | None]
    exit_code: NotRequired[int | None]


class AgentInfo(TypedDict):
    """The payload of AgentHeartbeatEvent."""

    id: str
    addr: str                           # RPC address, "tcp://host:port"
    region: str
    scaling_group: str
    architecture: str
    version: str
    available_resource_slots: dict[str, str]
    resource_slot_types: dict[str, str]     # slot name -> "count" | "bytes" | "unique"
    compute_plugins: dict[str, dict[str, Any]]
    images: list[tuple[str, str]]           # (canonical name, image id)
    kernels: list[KernelStatusInfo]
    public_host: NotRequired[str]
    auto_terminate_abusing_kernel: NotRequired[bool]
