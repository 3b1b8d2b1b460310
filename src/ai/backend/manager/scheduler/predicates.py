"""Checks a pending session must pass before placement; each says why it failed.

A failed predicate leaves the session PENDING with the result stored in status_info /
status_data, so users see which check, which slot and how much is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ai.backend.common.types import ResourceSlot

from .types import PendingSession, PredicateResult, SchedulingState


@dataclass
class DependencyState:
    status: str          # the dependency session's status name
    result: str          # UNDEFINED | SUCCESS | FAILURE


@dataclass
class SessionLimits:
    """Policies that apply to one pending session (None or a missing slot means unlimited)."""

    keypair_slots: Mapping[str, Decimal] | None = None
    user_slots: Mapping[str, Decimal] | None = None
    group_slots: Mapping[str, Decimal] | None = None
    domain_slots: Mapping[str, Decimal] | None = None
    max_concurrent_sessions: int | None = None
    max_containers_per_session: int | None = None
    allowed_scaling_groups: set[str] | None = None
    dependencies: dict[uuid.UUID, DependencyState] = field(default_factory=dict)


Predicate = Callable[[PendingSession, SessionLimits, SchedulingState], PredicateResult]


def check_concurrency(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    limit = limits.max_concurrent_sessions
    used = state.keypair_concurrency.get(sess.access_key, 0)
    if limit and used >= limit:
        return PredicateResult(
            False, "concurrency",
            f"keypair {sess.access_key} already runs {used} sessions (max_concurrent_sessions={limit})",
            {"limit": limit, "used": used},
        )
    return PredicateResult.ok("concurrency")


def _slot_limit(check: str, scope: str, limit: Mapping[str, Decimal] | None,
                occupied: ResourceSlot, requested: ResourceSlot) -> PredicateResult:
    if limit:
        for slot, amount in requested.items():
            cap = limit.get(slot)
            if cap is None or amount <= 0:
                continue
            used = occupied.get(slot, Decimal(0))
            if used + amount > cap:
                return PredicateResult(
                    False, check,
                    f"{scope} resource limit exceeded for {slot}: "
                    f"requested {amount}, already used {used}, limit {cap}",
                    {"slot": slot, "requested": str(amount), "used": str(used), "limit": str(cap),
                     "missing": str(used + amount - cap)},
                )
    return PredicateResult.ok(check)


def check_keypair_resource_limit(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    return _slot_limit("keypair_resource_limit", "keypair", limits.keypair_slots,
                       state.keypair_occupied.get(sess.access_key, ResourceSlot()), sess.requested_slots)


def check_user_resource_limit(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    return _slot_limit("user_resource_limit", "user", limits.user_slots,
                       state.user_occupied.get(sess.user_id, ResourceSlot()), sess.requested_slots)


def check_group_resource_limit(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    return _slot_limit("group_resource_limit", "project", limits.group_slots,
                       state.group_occupied.get(sess.group_id, ResourceSlot()), sess.requested_slots)


def check_domain_resource_limit(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    return _slot_limit("domain_resource_limit", "domain", limits.domain_slots,
                       state.domain_occupied.get(sess.domain_name, ResourceSlot()), sess.requested_slots)


def check_max_containers(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    limit = limits.max_containers_per_session
    if limit and sess.cluster_size > limit:
        return PredicateResult(
            False, "max_containers_per_session",
            f"cluster size {sess.cluster_size} exceeds max_containers_per_session={limit}",
            {"limit": limit, "requested": sess.cluster_size},
        )
    return PredicateResult.ok("max_containers_per_session")


def check_image_min_slots(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    for k in sess.kernels:
        for slot, minimum in sess.image_min_slots.items():
            got = k.requested_slots.get(slot, Decimal(0))
            if got < minimum:
                return PredicateResult(
                    False, "image_min_slots",
                    f"{k.cluster_role}{k.cluster_idx} requests {slot}={got} but the image needs at least {minimum}",
                    {"slot": slot, "requested": str(got), "minimum": str(minimum)},
                )
    return PredicateResult.ok("image_min_slots")


def check_scaling_group_access(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    allowed = limits.allowed_scaling_groups
    if allowed is not None and sess.scaling_group not in allowed:
        return PredicateResult(
            False, "scaling_group_access",
            f"resource group {sess.scaling_group!r} is not allowed for this domain/project/keypair",
            {"scaling_group": sess.scaling_group, "allowed": sorted(allowed)},
        )
    return PredicateResult.ok("scaling_group_access")


def check_dependencies(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    waiting: list[str] = []
    failed: list[str] = []
    for dep_id in sess.dependencies:
        dep = limits.dependencies.get(dep_id)
        if dep is None:
            failed.append(str(dep_id))
        elif dep.status in ("TERMINATED", "CANCELLED", "ERROR"):
            if dep.result != "SUCCESS":
                failed.append(str(dep_id))
        else:
            waiting.append(str(dep_id))
    if failed:
        return PredicateResult(False, "dependencies", "a session this one depends on did not succeed",
                               {"failed": failed, "waiting": waiting, "final": True})
    if waiting:
        return PredicateResult(False, "dependencies", "waiting for the sessions this one depends on",
                               {"waiting": waiting})
    return PredicateResult.ok("dependencies")


PREDICATES: tuple[Predicate, ...] = (
    check_dependencies,
    check_scaling_group_access,
    check_max_containers,
    check_image_min_slots,
    check_concurrency,
    check_keypair_resource_limit,
    check_user_resource_limit,
    check_group_resource_limit,
    check_domain_resource_limit,
)


def run_predicates(sess: PendingSession, limits: SessionLimits, state: SchedulingState) -> PredicateResult:
    """The first failing predicate's result, or a pass."""
    for predicate in PREDICATES:
        result = predicate(sess, limits, state)
        if not result.passed:
            return result
    return PredicateResult.ok("all")
