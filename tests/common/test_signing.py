import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai.backend.common import signing

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "signing-vectors.json").read_text()
)["vectors"]


def _sign(v: dict, **override: str) -> str:
    args = {
        "secret_key": v["secret_key"],
        "method": v["method"],
        "path_with_query": v["path"],
        "date_header": v["date_header"],
        "host": v["host"],
        "content_type": v["content_type"],
        "api_version": v["x_backendai_version"],
    }
    args.update(override)
    return signing.sign(**args)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"{v['method']} {v['path']}")
def test_official_client_vectors_verify(v: dict) -> None:
    auth = signing.parse_authorization(v["authorization"])
    assert auth.access_key == v["access_key"]
    assert auth.hash_type == "sha256"
    assert _sign(v) == v["signature"] == auth.signature
    assert signing.verify(
        secret_key=v["secret_key"], signature=auth.signature, method=v["method"],
        path_with_query=v["path"], date_header=v["date_header"], host=v["host"],
        content_type=v["content_type"], api_version=v["x_backendai_version"],
    )
    assert signing.authorization_header(v["access_key"], v["signature"]) == v["authorization"]


@pytest.mark.parametrize(
    "field,value",
    [
        ("secret_key", "wrong-secret"),
        ("method", "PUT"),
        ("path_with_query", "/manager/status"),
        ("date_header", "2026-11-23T13:40:59.829362+00:00"),
        ("host", "127.0.0.1:8082"),
        ("content_type", "application/xml"),
        ("api_version", "v6.20220615"),
    ],
)
def test_tampered_request_fails(field: str, value: str) -> None:
    v = VECTORS[0]
    tampered = _sign(v, **{field: value})
    assert tampered != v["signature"]
    args = {
        "secret_key": v["secret_key"], "method": v["method"], "path_with_query": v["path"],
        "date_header": v["date_header"], "host": v["host"], "content_type": v["content_type"],
        "api_version": v["x_backendai_version"],
    }
    args[field] = value
    assert not signing.verify(signature=v["signature"], **args)


def test_tampered_signature_fails() -> None:
    v = VECTORS[1]
    bad = ("0" if v["signature"][0] != "0" else "1") + v["signature"][1:]
    assert not signing.verify(
        secret_key=v["secret_key"], signature=bad, method=v["method"], path_with_query=v["path"],
        date_header=v["date_header"], host=v["host"], content_type=v["content_type"],
        api_version=v["x_backendai_version"],
    )


def test_sign_and_verify_round_trip() -> None:
    now = datetime.now(UTC)
    headers = signing.sign_headers(
        access_key="AKTEST", secret_key="s3cr3t", method="post", path_with_query="/folders?x=1",
        host="localhost:8091", content_type="multipart/form-data; boundary=xyz",
        api_version="v7.20230615", now=now,
    )
    auth = signing.parse_authorization(headers["Authorization"])
    assert auth.access_key == "AKTEST"
    signing.check_clock_skew(headers["Date"], now)
    # the boundary is not signed: the mimetype alone is
    assert signing.verify(
        secret_key="s3cr3t", signature=auth.signature, method="POST", path_with_query="/folders?x=1",
        date_header=headers["Date"], host="localhost:8091", content_type="multipart/form-data",
        api_version="v7.20230615",
    )


def test_missing_content_type_signs_octet_stream() -> None:
    v = VECTORS[2]  # the SSE request: no Content-Type sent
    assert v["content_type"] == "application/octet-stream"
    assert _sign(v, content_type="") == v["signature"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "BackendAI signMethod=HMAC-SHA256, credential=AK",
        "BackendAI signMethod=HMAC-FOO, credential=AK:abcd",
        "BackendAI credential=AK:abcd",
    ],
)
def test_malformed_authorization_rejected(header: str) -> None:
    with pytest.raises(signing.SignatureError):
        signing.parse_authorization(header)


def test_legacy_scheme_and_other_hashes() -> None:
    auth = signing.parse_authorization("Sorna signMethod=HMAC-SHA512, credential=AK:ABCDEF")
    assert (auth.scheme, auth.hash_type, auth.signature) == ("Sorna", "sha512", "abcdef")


def test_dates_rfc1123_naive_and_skew() -> None:
    assert signing.parse_date("Sun, 22 Nov 2026 13:40:59 GMT") == datetime(2026, 11, 22, 13, 40, 59, tzinfo=UTC)
    assert signing.parse_date("2026-11-22T13:40:59").tzinfo is UTC
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    signing.check_clock_skew((now - timedelta(minutes=14)).isoformat(), now)
    with pytest.raises(signing.SignatureError, match="15 minutes"):
        signing.check_clock_skew((now - timedelta(minutes=16)).isoformat(), now)
    with pytest.raises(signing.SignatureError, match="15 minutes"):
        signing.check_clock_skew((now + timedelta(minutes=16)).isoformat(), now)
    with pytest.raises(signing.SignatureError, match="unparsable"):
        signing.parse_date("yesterday")
