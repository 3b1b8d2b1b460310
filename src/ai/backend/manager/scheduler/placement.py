"""Placing a whole session on agents, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence

from ai.backend.common.types import ResourceSlot

from .selectors.base import AbstractAgentSelector
from .types import AgentView, KernelPlacement, PendingSession, PredicateResult


def place_session(
    sess: PendingSession, agents: Sequence[AgentView], selector: AbstractAgentSelector
) -> list[KernelPlacement] | PredicateResult:
    """Choose agents for every kernel of `sess` and reserve their slots in `agents` (in memory).

    Single-node sessions put all kernels on one agent; multi-node sessions place kernels one by
    one. If any kernel cannot be placed nothing is reserved and the reason is returned.
    """
    if sess.cluster_mode == "single-node" or sess.cluster_size == 1:
        agent = selector.select(agents, sess.requested_slots, sess.architecture)
        if agent is None:
            return _no_agent(sess, agents, sess.requested_slots)
        agent.occupied_slots = agent.occupied_slots + sess.requested_slots
        return [KernelPlacement(k.kernel_id, agent.agent_id, k.requested_slots) for k in sess.kernels]

    placements: list[KernelPlacement] = []
    reserved: list[tuple[AgentView, ResourceSlot]] = []
    for k in sorted(sess.kernels, key=lambda k: (k.cluster_role != "main", k.cluster_idx)):
        agent = selector.select(agents, k.requested_slots, k.architecture)
        if agent is None:
            for a, slots in reserved:  # roll back: all or nothing
                a.occupied_slots = a.occupied_slots - slots
            result = _no_agent(sess, agents, k.requested_slots)
            result.data["kernel"] = f"{k.cluster_role}{k.cluster_idx}"
            return result
        agent.occupied_slots = agent.occupied_slots + k.requested_slots
        reserved.append((agent, k.requested_slots))
        placements.append(KernelPlacement(k.kernel_id, agent.agent_id, k.requested_slots))
    return placements


def _no_agent(sess: PendingSession, agents: Sequence[AgentView], requested: ResourceSlot) -> PredicateResult:
    same_arch = [a for a in agents if a.architecture == sess.architecture]
    if not same_arch:
        return PredicateResult(
            False, "agent_capacity",
            f"no agent with architecture {sess.architecture} in resource group {sess.scaling_group}",
            {"architecture": sess.architecture},
        )
    # report the shortfall against the roomiest agent, so users see what is missing
    best = min(same_arch, key=lambda a: sum(requested.shortfall(a.remaining).values()))
    missing = requested.shortfall(best.remaining)
    return PredicateResult(
        False, "agent_capacity",
        "no agent has enough free resources: " + ", ".join(f"{k} short by {v}" for k, v in missing.to_json().items()),
        {"requested": requested.to_json(), "best_agent": best.agent_id,
         "best_agent_remaining": best.remaining.to_json(), "missing": missing.to_json()},
    )
