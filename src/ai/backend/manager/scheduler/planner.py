"""One scheduling pass over a resource group, in memory: order, check, place.

The dispatcher loads the pending sessions, agents and occupancy inside one transaction under
an advisory lock, calls plan_pass(), and writes the decisions back in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .placement import place_session
from .predicates import SessionLimits, run_predicates
from .selectors.base import AbstractAgentSelector
from .sequencers.base import AbstractSequencer
from .types import AgentView, KernelPlacement, PendingSession, PredicateResult, SchedulingState


@dataclass
class PassResult:
    scheduled: list[tuple[PendingSession, list[KernelPlacement]]] = field(default_factory=list)
    # sessions left pending, with the reason and whether their HoL retry counter grows
    pending: list[tuple[PendingSession, PredicateResult]] = field(default_factory=list)
    # sessions that can never run (e.g. a dependency failed): the dispatcher cancels them
    cancelled: list[tuple[PendingSession, PredicateResult]] = field(default_factory=list)
    retried: set[uuid.UUID] = field(default_factory=set)


def plan_pass(
    pending: Sequence[PendingSession],
    agents: Sequence[AgentView],
    state: SchedulingState,
    limits_for: Callable[[PendingSession], SessionLimits],
    sequencer: AbstractSequencer,
    selector: AbstractAgentSelector,
) -> PassResult:
    """Place as many sessions as fit.

    A session that fails a quota/policy predicate is skipped (it does not block others).
    A session that fits no agent blocks every session after it in the sequencer's order —
    unless HoL avoidance is enabled (num_retries_to_skip > 0): then each such failure bumps
    its retry counter, and once the counter reaches the threshold the sequencer pushes it
    behind the others so smaller sessions can pass.
    """
    result = PassResult()
    remaining = list(pending)
    blocked = False
    while remaining:
        sess = sequencer.pick(remaining, state)
        remaining.remove(sess)
        if blocked:
            result.pending.append((sess, PredicateResult(
                False, "hol_blocked", "waiting behind an earlier session that does not fit yet", {})))
            continue
        check = run_predicates(sess, limits_for(sess), state)
        if not check.passed:
            target = result.cancelled if check.data.get("final") else result.pending
            target.append((sess, check))
            continue
        placed = place_session(sess, agents, selector)
        if isinstance(placed, PredicateResult):
            result.pending.append((sess, placed))
            result.retried.add(sess.session_id)
            if not sequencer.is_pushed_back(sess):
                blocked = True
            continue
        state.add_session(sess)
        result.scheduled.append((sess, placed))
    return result
