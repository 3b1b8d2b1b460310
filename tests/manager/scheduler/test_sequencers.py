import uuid
from decimal import Decimal

import pytest

from ai.backend.common.types import ResourceSlot
from ai.backend.manager.scheduler.sequencers import load_sequencer
from ai.backend.manager.scheduler.types import SchedulingState
from manager.scheduler.factories import make_session


def _drain(seq, sessions, state=None):
    state = state or SchedulingState()
    remaining = list(sessions)
    order = []
    while remaining:
        s = seq.pick(remaining, state)
        remaining.remove(s)
        order.append(s.name)
    return order


def test_fifo_takes_oldest_first_and_lifo_newest() -> None:
    sessions = [make_session(n, {"cpu": 1}) for n in ("a", "b", "c")]
    shuffled = [sessions[1], sessions[2], sessions[0]]
    assert _drain(load_sequencer("fifo"), shuffled) == ["a", "b", "c"]
    assert _drain(load_sequencer("lifo"), shuffled) == ["c", "b", "a"]


def test_hol_pushes_back_sessions_past_the_retry_threshold() -> None:
    a, b, c = (make_session(n, {"cpu": 1}) for n in ("a", "b", "c"))
    a.retries = 3
    assert _drain(load_sequencer("fifo", {"num_retries_to_skip": 3}), [a, b, c]) == ["b", "c", "a"]
    assert _drain(load_sequencer("fifo", {"num_retries_to_skip": 4}), [a, b, c]) == ["a", "b", "c"]
    # disabled (the default): retries do not matter
    assert _drain(load_sequencer("fifo"), [a, b, c]) == ["a", "b", "c"]


def test_drf_gives_next_slot_to_smallest_dominant_share() -> None:
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    state = SchedulingState(
        total_capacity=ResourceSlot({"cpu": 10, "mem": 100}),
        user_occupied={
            alice: ResourceSlot({"cpu": 6, "mem": 10}),   # dominant share 0.6 (cpu)
            bob: ResourceSlot({"cpu": 1, "mem": 50}),     # dominant share 0.5 (mem)
        },
    )
    older_alice = make_session("alice-1", {"cpu": 1}, user=alice)
    bob1 = make_session("bob-1", {"cpu": 1}, user=bob)
    carol1 = make_session("carol-1", {"cpu": 1}, user=carol)  # share 0: goes first
    seq = load_sequencer("drf")
    assert seq.pick([older_alice, bob1, carol1], state).name == "carol-1"
    assert seq.pick([older_alice, bob1], state).name == "bob-1"
    assert state.dominant_share(alice) == Decimal("0.6")


def test_drf_sees_sessions_placed_earlier_in_the_pass() -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    state = SchedulingState(total_capacity=ResourceSlot({"cpu": 8, "mem": 8}))
    a1, a2 = (make_session(f"a{i}", {"cpu": 2, "mem": 1}, user=alice) for i in (1, 2))
    b1, b2 = (make_session(f"b{i}", {"cpu": 1, "mem": 1}, user=bob) for i in (1, 2))
    seq = load_sequencer("drf")
    remaining = [a1, a2, b1, b2]
    order = []
    while remaining:
        s = seq.pick(remaining, state)
        remaining.remove(s)
        state.add_session(s)
        order.append(s.name)
    # a1 (oldest, both at 0) -> alice 0.25; then bob until his share passes alice's
    assert order == ["a1", "b1", "b2", "a2"]


def test_unknown_scheduler_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scheduler 'fair'"):
        load_sequencer("fair")
