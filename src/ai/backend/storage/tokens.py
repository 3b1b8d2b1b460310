"""Upload and download tokens: JWTs (HS256) signed with the proxy's `[storage-proxy] secret`.

A token is the client's only credential on the client-facing API, so it names everything
the request may touch: the operation, the volume, the vfolder id, the one relative path,
and for uploads the session id and the exact size; it expires after `session-expire`.
Query parameters never widen it: the handlers read the target only from the token.
The HMAC key is SHA-256 of the secret, so any configured secret gives a full-length key.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import trafaret as t

from ai.backend.common.storage_types import VFolderID

from .errors import InvalidToken

ALGORITHM = "HS256"


class TokenOp(enum.StrEnum):
    UPLOAD = "upload"
    DOWNLOAD = "download"


@dataclass(frozen=True)
class UploadToken:
    volume: str
    vfid: VFolderID
    relpath: str
    size: int
    session: str  # hex upload session id
    expires_at: datetime


@dataclass(frozen=True)
class DownloadToken:
    volume: str
    vfid: VFolderID
    relpath: str
    archive: bool
    expires_at: datetime


_common_claims = {
    t.Key("op"): t.Enum(*(o.value for o in TokenOp)),
    t.Key("volume"): t.String,
    t.Key("vfid"): t.String,
    t.Key("relpath"): t.String(allow_blank=True),
    t.Key("exp"): t.Int,
}
_upload_claims = t.Dict({
    **_common_claims,
    t.Key("size"): t.Int(gte=0),
    t.Key("session"): t.Regexp(r"^[0-9a-f]{32}$"),
}).allow_extra("*")
_download_claims = t.Dict({
    **_common_claims,
    t.Key("archive", default=False): t.Bool,
}).allow_extra("*")


class TokenCodec:
    def __init__(self, secret: str, expire: timedelta, issuer: str = "backend.ai-storage-proxy") -> None:
        if not secret:
            raise ValueError("the token secret must not be empty")
        self._secret = hashlib.sha256(secret.encode()).digest()
        self.expire = expire
        self.issuer = issuer

    def _encode(self, claims: dict[str, Any], now: datetime | None) -> tuple[str, datetime]:
        now = now or datetime.now(UTC)
        expires_at = (now + self.expire).replace(microsecond=0)
        payload = {**claims, "iss": self.issuer, "iat": int(now.timestamp()),
                   "exp": int(expires_at.timestamp())}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), expires_at

    def issue_upload(self, volume: str, vfid: VFolderID, relpath: str, size: int, *,
                     session: str | None = None, now: datetime | None = None) -> tuple[str, UploadToken]:
        session = session or uuid.uuid4().hex
        token, expires_at = self._encode({
            "op": TokenOp.UPLOAD.value, "volume": volume, "vfid": str(vfid), "relpath": relpath,
            "size": size, "session": session,
        }, now)
        return token, UploadToken(volume, vfid, relpath, size, session, expires_at)

    def issue_download(self, volume: str, vfid: VFolderID, relpath: str, *, archive: bool = False,
                       now: datetime | None = None) -> tuple[str, DownloadToken]:
        token, expires_at = self._encode({
            "op": TokenOp.DOWNLOAD.value, "volume": volume, "vfid": str(vfid), "relpath": relpath,
            "archive": archive,
        }, now)
        return token, DownloadToken(volume, vfid, relpath, archive, expires_at)

    def _decode(self, token: str | None, op: TokenOp, schema: t.Trafaret) -> dict[str, Any]:
        if not token:
            raise InvalidToken("the token query parameter is missing")
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=self.issuer,
                                options={"require": ["exp", "iat", "iss"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token signature is invalid") from None
        except jwt.InvalidTokenError as e:
            raise InvalidToken(f"the token is invalid: {e}") from None
        if claims.get("op") != op.value:
            raise InvalidToken(f"this token is not valid for {op.value}")
        try:
            checked = schema.check(claims)
            checked["vfid"] = VFolderID.parse(checked["vfid"])
        except (t.DataError, ValueError) as e:
            raise InvalidToken(f"the token's claims are malformed: {e}") from None
        checked["expires_at"] = datetime.fromtimestamp(checked["exp"], UTC)
        return checked

    def decode_upload(self, token: str | None) -> UploadToken:
        c = self._decode(token, TokenOp.UPLOAD, _upload_claims)
        return UploadToken(c["volume"], c["vfid"], c["relpath"], c["size"], c["session"], c["expires_at"])

    def decode_download(self, token: str | None) -> DownloadToken:
        c = self._decode(token, TokenOp.DOWNLOAD, _download_claims)
        return DownloadToken(c["volume"], c["vfid"], c["relpath"], c["archive"], c["expires_at"])
