import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from ai.backend.common.storage_types import QuotaScopeID, QuotaScopeType, VFolderID
from ai.backend.storage.errors import InvalidToken
from ai.backend.storage.tokens import TokenCodec

KEY = hashlib.sha256(b"s3cret-for-tests").digest()
VFID = VFolderID(QuotaScopeID(QuotaScopeType.USER, uuid.uuid4()), uuid.uuid4())


@pytest.fixture
def codec() -> TokenCodec:
    return TokenCodec("s3cret-for-tests", timedelta(hours=1))


def test_upload_roundtrip(codec: TokenCodec) -> None:
    token, issued = codec.issue_upload("local", VFID, "dir/file.bin", 1234)
    got = codec.decode_upload(token)
    assert got == issued
    assert (got.volume, got.vfid, got.relpath, got.size) == ("local", VFID, "dir/file.bin", 1234)
    assert len(got.session) == 32
    assert got.expires_at > datetime.now(UTC) + timedelta(minutes=59)


def test_download_roundtrip(codec: TokenCodec) -> None:
    token, issued = codec.issue_download("local", VFID, "a/b", archive=True)
    assert codec.decode_download(token) == issued


def test_operation_is_bound(codec: TokenCodec) -> None:
    up, _ = codec.issue_upload("local", VFID, "f", 1)
    down, _ = codec.issue_download("local", VFID, "f")
    with pytest.raises(InvalidToken, match="not valid for download"):
        codec.decode_download(up)
    with pytest.raises(InvalidToken, match="not valid for upload"):
        codec.decode_upload(down)


def test_expired(codec: TokenCodec) -> None:
    token, _ = codec.issue_download("local", VFID, "f", now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(InvalidToken, match="expired"):
        codec.decode_download(token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tampered_claims_and_foreign_secret(codec: TokenCodec) -> None:
    token, _ = codec.issue_download("local", VFID, "mine.txt")
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["relpath"] = "someone-elses.txt"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{sig}"
    with pytest.raises(InvalidToken, match="signature"):
        codec.decode_download(forged)
    other = TokenCodec("another-secret", timedelta(hours=1))
    with pytest.raises(InvalidToken, match="signature"):
        codec.decode_download(other.issue_download("local", VFID, "mine.txt")[0])
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        codec.decode_download(unsigned)
    for garbage in ("", None, "abc", "a.b.c"):
        with pytest.raises(InvalidToken):
            codec.decode_download(garbage)


def test_malformed_claims_are_refused(codec: TokenCodec) -> None:
    now = int(datetime.now(UTC).timestamp())
    base = {"op": "upload", "volume": "local", "vfid": str(VFID), "relpath": "f", "size": 1,
            "session": uuid.uuid4().hex, "iat": now, "exp": now + 60, "iss": codec.issuer}
    for broken in ({"size": -1}, {"vfid": "not-a-vfid"}, {"session": "../../x"}):
        token = jwt.encode({**base, **broken}, KEY, algorithm="HS256")
        with pytest.raises(InvalidToken, match="malformed"):
            codec.decode_upload(token)
    no_exp = {k: v for k, v in base.items() if k != "exp"}
    with pytest.raises(InvalidToken):
        codec.decode_upload(jwt.encode(no_exp, KEY, algorithm="HS256"))
