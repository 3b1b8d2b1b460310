"""Range expressions of `run --env-range/--exec-range` and their expansion into cases."""

from __future__ import annotations

import pytest

from ai.backend.client.cli.ranges import RangeError, expand, interpolate, parse_range
from ai.backend.client.cli.session.run import make_cases


def test_case_range_keeps_strings() -> None:
    assert parse_range("X=case:1,2,3") == ("X", ["1", "2", "3"])
    assert parse_range("lang=case:py,js") == ("lang", ["py", "js"])


def test_python_range_semantics() -> None:
    assert parse_range("N=range:3") == ("N", ["0", "1", "2"])
    assert parse_range("N=range:1,10,4") == ("N", ["1", "5", "9"])


def test_linspace_includes_both_ends() -> None:
    assert parse_range("L=linspace:0,1,5") == ("L", ["0", "0.25", "0.5", "0.75", "1"])
    assert parse_range("L=linspace:2,2,1") == ("L", ["2"])


@pytest.mark.parametrize("expr", ["X", "1X=case:a", "X=foo:1", "X=range:a,b", "X=linspace:1,2",
                                  "X=range:5,1", "X=range:1,2,3,4", "X=case"])
def test_bad_expressions_say_what_is_wrong(expr: str) -> None:
    with pytest.raises(RangeError) as e:
        parse_range(expr)
    assert expr in str(e.value)


def test_expand_is_the_cartesian_product() -> None:
    cases = list(expand([("A", ["1", "2"]), ("B", ["x", "y", "z"])]))
    assert len(cases) == 6
    assert cases[0] == {"A": "1", "B": "x"} and cases[-1] == {"A": "2", "B": "z"}
    assert list(expand([])) == [{}]


def test_interpolation_touches_only_known_names() -> None:
    assert interpolate("CASE=$X ${X}x $HOME", {"X": "7"}) == "CASE=7 7x $HOME"


def test_cases_for_env_and_exec_ranges() -> None:
    cases = make_cases({"CASENO": "$X", "FIXED": "1"}, None, "python main.py $Y",
                       [("X", ["1", "2", "3"])], [], [("Y", ["a", "b"])])
    assert len(cases) == 6
    assert [c.envs["CASENO"] for c in cases] == ["1", "1", "2", "2", "3", "3"]
    assert {c.exec for c in cases} == {"python main.py a", "python main.py b"}
    assert all(c.envs["FIXED"] == "1" for c in cases)
    assert [c.index for c in cases] == [1, 2, 3, 4, 5, 6]
    assert cases[0].label == "X=1 Y=a"


def test_no_ranges_is_one_case_and_duplicates_collapse() -> None:
    assert len(make_cases({"A": "b"}, None, None, [], [], [])) == 1
    # a range variable nobody references gives identical cases: run once each distinct one
    assert len(make_cases({"A": "b"}, None, None, [("X", ["1", "2"])], [], [])) == 1
