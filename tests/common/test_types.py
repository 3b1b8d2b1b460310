from decimal import Decimal

import pytest

from ai.backend.common.status import (
    LIVE_STATUSES,
    RESOURCE_OCCUPYING_STATUSES,
    TERMINAL_STATUSES,
    SessionStatus,
)
from ai.backend.common.types import BinarySize, HostPortPair, ResourceSlot, SlotTypes


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("512", 512),
        ("1k", 1024),
        ("512m", 512 * 1024**2),
        ("4g", 4 * 1024**3),
        ("4G", 4 * 1024**3),
        ("1.5k", 1536),
        ("2t", 2 * 1024**4),
        ("10M", 10 * 1024**2),
        ("1gib", 1024**3),
        ("256mb", 256 * 1024**2),
    ],
)
def test_binary_size_parses_suffixes(text: str, value: int) -> None:
    assert BinarySize.from_str(text) == value


@pytest.mark.parametrize("bad", ["", "g", "4x", "-1g", "1..2m", "four"])
def test_binary_size_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError, match="binary size"):
        BinarySize.from_str(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (1024, "1k"), (4 * 1024**3, "4g"), (512 * 1024**2, "512m"), (1536, "1.5k"), (1000, "1000")],
)
def test_binary_size_formats_shortest(value: int, text: str) -> None:
    assert BinarySize(value).to_str() == text
    assert f"{BinarySize(value):s}" == text
    assert BinarySize.from_str(text) == value


def test_resource_slot_arithmetic_treats_missing_as_zero() -> None:
    a = ResourceSlot({"cpu": "2", "mem": 1024})
    b = ResourceSlot({"cpu": "0.5", "cuda.shares": "1.5"})
    assert a + b == ResourceSlot({"cpu": "2.5", "mem": 1024, "cuda.shares": "1.5"})
    assert a - b == ResourceSlot({"cpu": "1.5", "mem": 1024, "cuda.shares": "-1.5"})
    assert (a - b).has_negative()
    assert a * 2 == ResourceSlot({"cpu": 4, "mem": 2048})
    assert isinstance(a["cpu"], Decimal)


def test_resource_slot_partial_order() -> None:
    small = ResourceSlot({"cpu": 1, "mem": 512})
    big = ResourceSlot({"cpu": 2, "mem": 1024, "cuda.device": 1})
    assert small <= big
    assert small < big
    assert big >= small
    assert not big <= small
    # incomparable: neither fits in the other
    x = ResourceSlot({"cpu": 4, "mem": 1})
    assert not x <= big and not big <= x
    assert ResourceSlot({"cpu": 1}) == {"cpu": 1, "mem": 0}


def test_resource_slot_shortfall_names_missing_amounts() -> None:
    need = ResourceSlot({"cpu": 4, "mem": 2048, "cuda.device": 1})
    have = ResourceSlot({"cpu": 2, "mem": 4096})
    assert need.shortfall(have) == ResourceSlot({"cpu": 2, "cuda.device": 1})
    assert set(need.shortfall(have).keys()) == {"cpu", "cuda.device"}


def test_resource_slot_user_input_and_json_round_trip() -> None:
    types = {"cpu": SlotTypes.COUNT, "mem": SlotTypes.BYTES}
    slot = ResourceSlot.from_user_input({"cpu": "2", "mem": "4g"}, types)
    assert slot == {"cpu": 2, "mem": 4 * 1024**3}
    assert slot.to_json() == {"cpu": "2", "mem": str(4 * 1024**3)}
    assert ResourceSlot.from_json(slot.to_json()) == slot
    assert slot.to_humanized(types) == {"cpu": "2", "mem": "4g"}
    with pytest.raises(ValueError, match="negative"):
        ResourceSlot.from_user_input({"cpu": "-1"}, types)
    with pytest.raises(ValueError, match="invalid slot amount"):
        ResourceSlot({"cpu": "lots"})


def test_resource_slot_normalize_against_known_types() -> None:
    known = {"cpu": SlotTypes.COUNT, "mem": SlotTypes.BYTES}
    assert ResourceSlot({"cpu": 1}).normalize_slots(known, ignore_unknown=False) == {"cpu": 1, "mem": 0}
    with pytest.raises(ValueError, match="unknown resource slots: tpu"):
        ResourceSlot({"tpu": 1}).normalize_slots(known, ignore_unknown=False)
    assert ResourceSlot({"tpu": 1, "cpu": 2}).normalize_slots(known, ignore_unknown=True) == {"cpu": 2, "mem": 0}


def test_host_port_pair_forms() -> None:
    assert HostPortPair.parse("127.0.0.1:8120") == ("127.0.0.1", 8120)
    assert HostPortPair.parse({"host": "bai-m1", "port": "8100"}).port == 8100
    assert str(HostPortPair("::1", 80)) == "[::1]:80"
    with pytest.raises(ValueError):
        HostPortPair.parse("no-port")


def test_status_groups() -> None:
    assert SessionStatus.TERMINATED.is_terminal and SessionStatus.CANCELLED.is_terminal
    assert not SessionStatus.RUNNING.is_terminal
    assert SessionStatus.RUNNING.occupies_resources
    assert not SessionStatus.PENDING.occupies_resources
    assert SessionStatus.PENDING in LIVE_STATUSES
    assert not (TERMINAL_STATUSES & RESOURCE_OCCUPYING_STATUSES)
    assert SessionStatus("RUNNING_DEGRADED") is SessionStatus.RUNNING_DEGRADED


def test_host_port_pair_copies_and_pickles() -> None:
    import copy
    import pickle

    addr = HostPortPair("127.0.0.1", 6001)
    for clone in (copy.copy(addr), copy.deepcopy(addr), pickle.loads(pickle.dumps(addr))):
        assert clone == addr and isinstance(clone, HostPortPair) and clone.port == 6001
