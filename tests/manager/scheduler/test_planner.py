from decimal import Decimal

from ai.backend.manager.scheduler.planner import plan_pass
from ai.backend.manager.scheduler.predicates import SessionLimits
from ai.backend.manager.scheduler.selectors import load_selector
from ai.backend.manager.scheduler.sequencers import load_sequencer
from ai.backend.manager.scheduler.types import SchedulingState
from manager.scheduler.factories import make_agent, make_session


def _run(pending, agents, opts=None, limits=None):
    return plan_pass(pending, agents, SchedulingState(), lambda s: limits or SessionLimits(),
                     load_sequencer("fifo", opts), load_selector("concentrated"))


def test_one_pass_places_as_many_as_fit() -> None:
    agents = [make_agent("a", {"cpu": 4}), make_agent("b", {"cpu": 4})]
    pending = [make_session(f"s{i}", {"cpu": 1}) for i in range(10)]
    r = _run(pending, agents)
    assert len(r.scheduled) == 8
    assert [s.name for s, _ in r.scheduled] == [f"s{i}" for i in range(8)]
    assert [s.name for s, _ in r.pending] == ["s8", "s9"]
    assert all(reason.check in ("agent_capacity", "hol_blocked") for _, reason in r.pending)


def test_strict_fifo_blocks_small_sessions_behind_a_big_one() -> None:
    big = make_session("big", {"cpu": 8})
    small = make_session("small", {"cpu": 1})
    agents = [make_agent("a", {"cpu": 4})]
    for _ in range(5):  # however many passes: strict order never lets it pass
        r = _run([big, small], agents)
        assert r.scheduled == []
        assert {s.name: reason.check for s, reason in r.pending} == {"big": "agent_capacity", "small": "hol_blocked"}
        big.retries += 1 if big.session_id in r.retried else 0


def test_hol_avoidance_lets_small_sessions_pass_after_threshold() -> None:
    big = make_session("big", {"cpu": 8})
    small = make_session("small", {"cpu": 1})
    agents = [make_agent("a", {"cpu": 4})]
    opts = {"num_retries_to_skip": 2}
    passes = 0
    while True:
        passes += 1
        r = _run([big, small], agents, opts)
        if r.scheduled:
            break
        assert big.session_id in r.retried
        big.retries += 1
    assert passes == 3  # blocked twice, then the big one is pushed back
    assert [s.name for s, _ in r.scheduled] == ["small"]
    assert [s.name for s, _ in r.pending] == ["big"]


def test_policy_failures_do_not_block_others() -> None:
    over = make_session("over", {"cpu": 1}, access_key="LIMITED")
    fine = make_session("fine", {"cpu": 1}, access_key="OTHER")
    agents = [make_agent("a", {"cpu": 4})]

    def limits(s):
        return SessionLimits(max_concurrent_sessions=1) if s.access_key == "LIMITED" else SessionLimits()

    state = SchedulingState(keypair_concurrency={"LIMITED": 1})
    r = plan_pass([over, fine], agents, state, limits, load_sequencer("fifo"), load_selector("concentrated"))
    assert [s.name for s, _ in r.scheduled] == ["fine"]
    assert [(s.name, reason.check) for s, reason in r.pending] == [("over", "concurrency")]


def test_quota_is_updated_within_the_pass() -> None:
    agents = [make_agent("a", {"cpu": 16})]
    pending = [make_session(f"s{i}", {"cpu": 2}, access_key="AK") for i in range(4)]
    r = _run(pending, agents, limits=SessionLimits(keypair_slots={"cpu": Decimal(5)}))
    assert len(r.scheduled) == 2
    assert {reason.check for _, reason in r.pending} == {"keypair_resource_limit"}


def test_failed_dependency_cancels() -> None:
    import uuid

    from ai.backend.manager.scheduler.predicates import DependencyState

    dep = uuid.uuid4()
    sess = make_session("child", {"cpu": 1}, dependencies=[dep])
    r = _run([sess], [make_agent("a", {"cpu": 4})],
             limits=SessionLimits(dependencies={dep: DependencyState("CANCELLED", "UNDEFINED")}))
    assert [s.name for s, _ in r.cancelled] == ["child"]
