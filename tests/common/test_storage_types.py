import uuid

import pytest

from ai.backend.common.storage_types import (
    QuotaScopeID,
    QuotaScopeType,
    VFolderID,
    split_volume_host,
)


def test_quota_scope_id_roundtrip() -> None:
    u = uuid.uuid4()
    qsid = QuotaScopeID.parse(f"user:{u}")
    assert qsid == QuotaScopeID(QuotaScopeType.USER, u)
    assert str(qsid) == f"user:{u}"
    assert qsid.pathname == u.hex
    assert QuotaScopeID.parse(f"PROJECT:{u.hex}").scope_type == QuotaScopeType.PROJECT


@pytest.mark.parametrize("raw, why", [
    ("user", "expected"), ("group:" + str(uuid.uuid4()), "type"), ("user:not-a-uuid", "not a UUID"),
    ("user:../../etc", "not a UUID"),
])
def test_quota_scope_id_errors(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        QuotaScopeID.parse(raw)


def test_vfolder_id_roundtrip() -> None:
    q, f = uuid.uuid4(), uuid.uuid4()
    vfid = VFolderID.parse(f"project:{q}/{f}")
    assert vfid.quota_scope_id == QuotaScopeID(QuotaScopeType.PROJECT, q)
    assert vfid.folder_id == f
    assert VFolderID.parse(str(vfid)) == vfid
    assert str(vfid) == f"project:{q}/{f.hex}"
    for bad in (str(f), f"user:{q}/x", f"user:{q}/../{f}", 42):
        with pytest.raises(ValueError):
            VFolderID.parse(bad)  # type: ignore[arg-type]


def test_split_volume_host() -> None:
    assert split_volume_host("local:volume1") == ("local", "volume1")
    for bad in ("local", ":v", "p:"):
        with pytest.raises(ValueError):
            split_volume_host(bad)
