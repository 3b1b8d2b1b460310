import pytest

from ai.backend.common.types import ResourceSlot
from ai.backend.manager.scheduler.placement import place_session
from ai.backend.manager.scheduler.selectors import load_selector
from ai.backend.manager.scheduler.types import PredicateResult
from manager.scheduler.factories import make_agent, make_session


def _select(sel, agents, slots: dict) -> str:
    agent = sel.select(agents, ResourceSlot(slots), "x86_64")
    assert agent is not None
    return agent.agent_id


def _place(sel, agents, slots: dict) -> str:
    placed = place_session(make_session("s", slots), agents, sel)
    assert isinstance(placed, list)
    return placed[0].agent_id


def _agents():
    return [
        make_agent("ag-1", {"cpu": 8, "mem": 8192}),
        make_agent("ag-2", {"cpu": 8, "mem": 8192}, occupied={"cpu": 6, "mem": 1024}),
        make_agent("ag-3", {"cpu": 8, "mem": 8192}, occupied={"cpu": 2, "mem": 1024}),
    ]


def test_concentrated_packs_into_the_fullest_fitting_agent() -> None:
    sel = load_selector("concentrated")
    agents = _agents()
    assert _select(sel, agents, {"cpu": 1, "mem": 512}) == "ag-2"
    # too big for ag-2 (2 cpus left): the next fullest
    assert _select(sel, agents, {"cpu": 4}) == "ag-3"


def test_dispersed_spreads_to_the_emptiest_agent() -> None:
    sel = load_selector("dispersed")
    agents = _agents()
    used = [_place(sel, agents, {"cpu": 2, "mem": 512}) for _ in range(3)]
    assert used == ["ag-1", "ag-1", "ag-3"]  # 8 free -> 6 free -> ag-3 (6 free) ties broken by id


def test_concentrated_fills_one_agent_before_the_next() -> None:
    sel = load_selector("concentrated")
    agents = [make_agent("a", {"cpu": 4}), make_agent("b", {"cpu": 4})]
    used = [_place(sel, agents, {"cpu": 1}) for _ in range(6)]
    assert used == ["a", "a", "a", "a", "b", "b"]


def test_roundrobin_takes_agents_in_turn() -> None:
    sel = load_selector("roundrobin")
    agents = [make_agent(n, {"cpu": 8}) for n in ("c", "a", "b")]
    used = [_place(sel, agents, {"cpu": 1}) for _ in range(5)]
    assert used == ["a", "b", "c", "a", "b"]


def test_architecture_must_match() -> None:
    sel = load_selector("concentrated")
    agents = [make_agent("arm", {"cpu": 8}, arch="aarch64")]
    result = place_session(make_session("s", {"cpu": 1}), agents, sel)
    assert isinstance(result, PredicateResult)
    assert result.check == "agent_capacity" and "architecture x86_64" in result.message


def test_capacity_shortfall_is_reported() -> None:
    agents = [make_agent("a", {"cpu": 4, "mem": 1024}, occupied={"cpu": 3})]
    result = place_session(make_session("big", {"cpu": 2, "mem": 2048}), agents, load_selector("dispersed"))
    assert isinstance(result, PredicateResult)
    assert result.data["missing"] == {"cpu": "1", "mem": "1024"}
    assert "cpu short by 1" in result.message
    assert agents[0].occupied_slots == {"cpu": 3}


def test_single_node_cluster_goes_to_one_agent_or_nowhere() -> None:
    agents = [make_agent("a", {"cpu": 4}), make_agent("b", {"cpu": 4})]
    sess = make_session("cl", {"cpu": 2}, cluster_size=3)  # needs 6 cpus on ONE agent
    result = place_session(sess, agents, load_selector("dispersed"))
    assert isinstance(result, PredicateResult)
    assert all(a.occupied_slots.is_zero() for a in agents)
    ok = place_session(make_session("cl2", {"cpu": 2}, cluster_size=2), agents, load_selector("dispersed"))
    assert not isinstance(ok, PredicateResult)
    assert len({p.agent_id for p in ok}) == 1


def test_multi_node_cluster_is_all_or_nothing() -> None:
    agents = [make_agent("a", {"cpu": 4}), make_agent("b", {"cpu": 4})]
    fits = make_session("mn", {"cpu": 3}, cluster_size=2, cluster_mode="multi-node")
    placed = place_session(fits, agents, load_selector("dispersed"))
    assert not isinstance(placed, PredicateResult)
    assert sorted(p.agent_id for p in placed) == ["a", "b"]
    too_big = make_session("mn2", {"cpu": 1}, cluster_size=3, cluster_mode="multi-node")
    before = [a.occupied_slots.copy() for a in agents]
    result = place_session(too_big, agents, load_selector("dispersed"))
    assert isinstance(result, PredicateResult)
    assert result.data["kernel"] in {"sub1", "sub2"}
    assert [a.occupied_slots for a in agents] == before  # rolled back


def test_unknown_selector_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown agent selector"):
        load_selector("random")
