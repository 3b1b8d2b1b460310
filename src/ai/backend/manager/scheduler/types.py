"""In-memory views the scheduling plug-ins work on (the dispatcher builds them from the DB)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ai.backend.common.types import ResourceSlot


@dataclass
class PendingKernel:
    kernel_id: uuid.UUID
    cluster_role: str
    cluster_idx: int
    requested_slots: ResourceSlot
    image: str = ""
    architecture: str = "x86_64"


@dataclass
class PendingSession:
    session_id: uuid.UUID
    name: str
    access_key: str
    user_id: uuid.UUID
    group_id: uuid.UUID
    domain_name: str
    scaling_group: str
    created_at: datetime
    kernels: list[PendingKernel]
    cluster_mode: str = "single-node"
    requested_slots: ResourceSlot = field(default_factory=ResourceSlot)
    image_min_slots: ResourceSlot = field(default_factory=ResourceSlot)
    dependencies: list[uuid.UUID] = field(default_factory=list)
    retries: int = 0                     # failed placement attempts (HoL avoidance)

    def __post_init__(self) -> None:
        if not self.requested_slots and self.kernels:
            total = ResourceSlot()
            for k in self.kernels:
                total = total + k.requested_slots
            self.requested_slots = total

    @property
    def cluster_size(self) -> int:
        return len(self.kernels)

    @property
    def architecture(self) -> str:
        return self.kernels[0].architecture if self.kernels else "x86_64"


@dataclass
class AgentView:
    agent_id: str
    architecture: str
    available_slots: ResourceSlot        # capacity the agent reports
    occupied_slots: ResourceSlot         # derived: sum over its live kernels' allocations
    scaling_group: str = "default"
    addr: str = ""

    @property
    def remaining(self) -> ResourceSlot:
        return self.available_slots - self.occupied_slots

    def fits(self, requested: ResourceSlot) -> bool:
        return requested <= self.remaining


@dataclass
class PredicateResult:
    passed: bool
    check: str                            # which predicate
    message: str = ""                     # human-readable reason
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, check: str) -> PredicateResult:
        return cls(True, check)

    def as_status_data(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message, **self.data}


@dataclass
class KernelPlacement:
    kernel_id: uuid.UUID
    agent_id: str
    slots: ResourceSlot


@dataclass
class SchedulingState:
    """Occupancy the quota predicates and DRF read; updated in memory as a pass places sessions.

    All occupancy maps are derived from the allocations of live kernels (never counters kept
    elsewhere); the dispatcher rebuilds this object at the start of every pass.
    """

    keypair_occupied: dict[str, ResourceSlot] = field(default_factory=dict)
    user_occupied: dict[uuid.UUID, ResourceSlot] = field(default_factory=dict)
    group_occupied: dict[uuid.UUID, ResourceSlot] = field(default_factory=dict)
    domain_occupied: dict[str, ResourceSlot] = field(default_factory=dict)
    keypair_concurrency: dict[str, int] = field(default_factory=dict)
    # capacity of the resource group (DRF shares are relative to it)
    total_capacity: ResourceSlot = field(default_factory=ResourceSlot)

    def add_session(self, sess: PendingSession) -> None:
        slots = sess.requested_slots
        self.keypair_occupied[sess.access_key] = self.keypair_occupied.get(sess.access_key, ResourceSlot()) + slots
        self.user_occupied[sess.user_id] = self.user_occupied.get(sess.user_id, ResourceSlot()) + slots
        self.group_occupied[sess.group_id] = self.group_occupied.get(sess.group_id, ResourceSlot()) + slots
        self.domain_occupied[sess.domain_name] = self.domain_occupied.get(sess.domain_name, ResourceSlot()) + slots
        self.keypair_concurrency[sess.access_key] = self.keypair_concurrency.get(sess.access_key, 0) + 1

    def dominant_share(self, user_id: uuid.UUID) -> Decimal:
        occupied = self.user_occupied.get(user_id, ResourceSlot())
        shares = [
            occupied.get(slot, Decimal(0)) / cap
            for slot, cap in self.total_capacity.items()
            if cap > 0
        ]
        return max(shares, default=Decimal(0))
