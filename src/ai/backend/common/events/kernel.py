"""Kernel lifecycle events, produced by agents and handled by the manager."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .base import AbstractEvent, EventDelivery

_BOTH = EventDelivery.ANYCAST | EventDelivery.BROADCAST


@dataclass
class KernelLifecycleEvent(AbstractEvent):
    kernel_id: uuid.UUID
    session_id: uuid.UUID
    reason: str = ""
    delivery = _BOTH


@dataclass
class KernelPreparingEvent(KernelLifecycleEvent):
    name = "kernel_preparing"


@dataclass
class KernelPullingEvent(KernelLifecycleEvent):
    """`reason` carries the image being pulled."""

    name = "kernel_pulling"


@dataclass
class KernelCreatingEvent(KernelLifecycleEvent):
    name = "kernel_creating"


@dataclass
class KernelStartedEvent(KernelLifecycleEvent):
    """`creation_info` is what create_kernels returns for this kernel (see agent_types)."""

    name = "kernel_started"
    creation_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class KernelCancelledEvent(KernelLifecycleEvent):
    """Creation failed before the kernel ran; `reason` says why."""

    name = "kernel_cancelled"


@dataclass
class KernelTerminatingEvent(KernelLifecycleEvent):
    name = "kernel_terminating"


@dataclass
class KernelTerminatedEvent(KernelLifecycleEvent):
    """The container is gone. `exit_code` is None when unknown (e.g. it vanished).

    `container_log` is the tail of the container's log taken just before its removal, so
    `session logs` still works for a finished (e.g. batch) session.
    """

    name = "kernel_terminated"
    exit_code: int | None = None
    container_log: str | None = None
