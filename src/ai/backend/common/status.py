"""Session and kernel statuses (the names the API and the manual use) and their groups."""

from __future__ import annotations

import enum


class SessionStatus(enum.StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PREPARING = "PREPARING"
    PULLING = "PULLING"
    PREPARED = "PREPARED"
    CREATING = "CREATING"
    RUNNING = "RUNNING"
    RESTARTING = "RESTARTING"
    RUNNING_DEGRADED = "RUNNING_DEGRADED"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def occupies_resources(self) -> bool:
        return self in RESOURCE_OCCUPYING_STATUSES


# Kernels share the session's vocabulary; a session's status summarizes its kernels'.
KernelStatus = SessionStatus


class SessionResult(enum.StrEnum):
    """How a session ended, for batch sessions decided by the main kernel's exit code."""

    UNDEFINED = "UNDEFINED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class SessionTypes(enum.StrEnum):
    INTERACTIVE = "interactive"
    BATCH = "batch"
    INFERENCE = "inference"


class ClusterMode(enum.StrEnum):
    SINGLE_NODE = "single-node"
    MULTI_NODE = "multi-node"


class AgentStatus(enum.StrEnum):
    ALIVE = "ALIVE"
    LOST = "LOST"
    RESTARTING = "RESTARTING"
    TERMINATED = "TERMINATED"


S = SessionStatus

# Nothing more happens to a session in these statuses.
TERMINAL_STATUSES: frozenset[SessionStatus] = frozenset({S.TERMINATED, S.CANCELLED})

# Statuses in which the kernel holds (or is about to hold) an agent's slots: occupancy is
# the sum of allocations of kernels in these statuses, never a separate counter.
RESOURCE_OCCUPYING_STATUSES: frozenset[SessionStatus] = frozenset({
    S.SCHEDULED, S.PREPARING, S.PULLING, S.PREPARED, S.CREATING,
    S.RUNNING, S.RESTARTING, S.RUNNING_DEGRADED, S.TERMINATING,
})

# Sessions that count as alive for name uniqueness and concurrency limits.
LIVE_STATUSES: frozenset[SessionStatus] = RESOURCE_OCCUPYING_STATUSES | {S.PENDING}

# Statuses the official CLI's `ps` shows by default.
DEFAULT_LISTED_STATUSES: tuple[SessionStatus, ...] = (
    S.PENDING, S.SCHEDULED, S.PULLING, S.PREPARING, S.RUNNING,
    S.RUNNING_DEGRADED, S.TERMINATING, S.ERROR,
)

# The scheduler re-drives these steps and fails the session when their deadline passes.
DEADLINED_STATUSES: frozenset[SessionStatus] = LIVE_STATUSES - {S.PENDING, S.RUNNING, S.RUNNING_DEGRADED}
