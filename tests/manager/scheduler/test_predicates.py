import uuid
from decimal import Decimal

from ai.backend.common.types import ResourceSlot
from ai.backend.manager.scheduler.predicates import DependencyState, SessionLimits, run_predicates
from ai.backend.manager.scheduler.types import SchedulingState
from manager.scheduler.factories import make_session


def D(x) -> Decimal:
    return Decimal(str(x))


def test_all_pass_without_limits() -> None:
    assert run_predicates(make_session("s", {"cpu": 1}), SessionLimits(), SchedulingState()).passed


def test_concurrency_limit() -> None:
    state = SchedulingState(keypair_concurrency={"AK": 2})
    r = run_predicates(make_session("s", {"cpu": 1}), SessionLimits(max_concurrent_sessions=2), state)
    assert (r.passed, r.check, r.data) == (False, "concurrency", {"limit": 2, "used": 2})
    assert run_predicates(make_session("s", {"cpu": 1}), SessionLimits(max_concurrent_sessions=3), state).passed


def test_each_scope_slot_limit_names_slot_and_amounts() -> None:
    sess = make_session("s", {"cpu": 2, "mem": 1024}, access_key="AK", domain="d1")
    scopes = {
        "keypair_resource_limit": ("keypair_slots", "keypair_occupied", "AK"),
        "user_resource_limit": ("user_slots", "user_occupied", sess.user_id),
        "group_resource_limit": ("group_slots", "group_occupied", sess.group_id),
        "domain_resource_limit": ("domain_slots", "domain_occupied", "d1"),
    }
    for check, (limit_field, occ_field, key) in scopes.items():
        state = SchedulingState(**{occ_field: {key: ResourceSlot({"mem": 3500})}})  # type: ignore[arg-type]
        limits = SessionLimits(**{limit_field: {"cpu": D(8), "mem": D(4096)}})  # type: ignore[arg-type]
        r = run_predicates(sess, limits, state)
        assert not r.passed and r.check == check
        assert r.data == {"slot": "mem", "requested": "1024", "used": "3500", "limit": "4096", "missing": "428"}
        # the same request fits when less is used
        assert run_predicates(sess, limits, SchedulingState()).passed


def test_unlimited_slots_are_not_checked() -> None:
    sess = make_session("s", {"cpu": 100, "cuda.device": 4})
    assert run_predicates(sess, SessionLimits(keypair_slots={"mem": D(1)}), SchedulingState()).passed


def test_max_containers_per_session() -> None:
    sess = make_session("s", {"cpu": 1}, cluster_size=3)
    r = run_predicates(sess, SessionLimits(max_containers_per_session=2), SchedulingState())
    assert (r.check, r.data) == ("max_containers_per_session", {"limit": 2, "requested": 3})


def test_image_minimum_resources() -> None:
    sess = make_session("s", {"cpu": 1, "mem": 128}, image_min_slots=ResourceSlot({"cpu": 1, "mem": 256}))
    r = run_predicates(sess, SessionLimits(), SchedulingState())
    assert r.check == "image_min_slots" and r.data["slot"] == "mem" and r.data["minimum"] == "256"


def test_scaling_group_access() -> None:
    sess = make_session("s", {"cpu": 1}, sg="gpu")
    r = run_predicates(sess, SessionLimits(allowed_scaling_groups={"default"}), SchedulingState())
    assert r.check == "scaling_group_access" and r.data["allowed"] == ["default"]


def test_dependencies_wait_then_pass_or_fail_for_good() -> None:
    dep = uuid.uuid4()
    sess = make_session("s", {"cpu": 1}, dependencies=[dep])
    running = SessionLimits(dependencies={dep: DependencyState("RUNNING", "UNDEFINED")})
    r = run_predicates(sess, running, SchedulingState())
    assert r.check == "dependencies" and r.data == {"waiting": [str(dep)]}
    succeeded = SessionLimits(dependencies={dep: DependencyState("TERMINATED", "SUCCESS")})
    assert run_predicates(sess, succeeded, SchedulingState()).passed
    failed = SessionLimits(dependencies={dep: DependencyState("TERMINATED", "FAILURE")})
    r = run_predicates(sess, failed, SchedulingState())
    assert r.data["failed"] == [str(dep)] and r.data["final"] is True
