"""HMAC request signing of the Backend.AI API (keypair mode), shared by server and client.

The string to sign is
    METHOD \\n PATH?QUERY \\n DATE-HEADER \\n host:HOST \\n content-type:MIMETYPE \\n
    x-backendai-version:VERSION \\n HEX(HASH(b""))
(since v4.20181215 the body is not hashed), and the key is derived as
    HMAC(HMAC(secret, YYYYMMDD of the date), host).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from dateutil.parser import isoparse

DEFAULT_HASH = "sha256"
MAX_CLOCK_SKEW = timedelta(minutes=15)
SUPPORTED_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
_AUTH_RE = re.compile(
    r"^(?P<scheme>BackendAI|Sorna)\s+signMethod=HMAC-(?P<hash>[A-Za-z0-9-]+)\s*,\s*"
    r"credential=(?P<access_key>[^:\s]+):(?P<signature>[0-9a-fA-F]+)\s*$"
)


class SignatureError(ValueError):
    """The Authorization header or Date cannot be used; the message says why."""


@dataclass(frozen=True)
class ParsedAuthorization:
    scheme: str
    hash_type: str
    access_key: str
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization:
    m = _AUTH_RE.match(value.strip())
    if m is None:
        raise SignatureError("malformed Authorization header")
    hash_type = m.group("hash").lower().replace("-", "_")
    if hash_type not in SUPPORTED_HASHES:
        raise SignatureError(f"unsupported signMethod HMAC-{m.group('hash')}")
    return ParsedAuthorization(m.group("scheme"), hash_type, m.group("access_key"), m.group("signature").lower())


def parse_date(raw: str) -> datetime:
    """ISO 8601 (what the official client sends) or RFC 1123; naive dates are UTC."""
    raw = raw.strip()
    try:
        dt = isoparse(raw)
    except (ValueError, OverflowError):
        try:
            dt = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            raise SignatureError(f"unparsable date: {raw!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def mimetype_of(content_type: str | None) -> str:
    if not content_type:
        return "application/octet-stream"
    return content_type.split(";", 1)[0].strip().lower() or "application/octet-stream"


def string_to_sign(
    *, method: str, path_with_query: str, date_header: str, host: str, content_type: str | None,
    api_version: str, hash_type: str = DEFAULT_HASH,
) -> str:
    body_hash = hashlib.new(hash_type, b"").hexdigest()
    return "\n".join([
        method.upper(),
        path_with_query,
        date_header,
        f"host:{host}",
        f"content-type:{mimetype_of(content_type)}",
        f"x-backendai-version:{api_version}",
        body_hash,
    ])


def sign(
    *, secret_key: str, method: str, path_with_query: str, date_header: str, host: str,
    content_type: str | None, api_version: str, hash_type: str = DEFAULT_HASH,
) -> str:
    """The hex signature for one request."""
    date = parse_date(date_header)
    if hash_type not in SUPPORTED_HASHES:
        raise SignatureError(f"unsupported hash {hash_type!r}")
    digest = getattr(hashlib, hash_type)
    k = hmac.new(secret_key.encode(), date.strftime("%Y%m%d").encode(), digest).digest()
    k = hmac.new(k, host.encode(), digest).digest()
    msg = string_to_sign(
        method=method, path_with_query=path_with_query, date_header=date_header, host=host,
        content_type=content_type, api_version=api_version, hash_type=hash_type,
    )
    return hmac.new(k, msg.encode(), digest).hexdigest()


def authorization_header(access_key: str, signature: str, hash_type: str = DEFAULT_HASH) -> str:
    return f"BackendAI signMethod=HMAC-{hash_type.upper()}, credential={access_key}:{signature}"


def sign_headers(
    *, access_key: str, secret_key: str, method: str, path_with_query: str, host: str,
    content_type: str | None, api_version: str, now: datetime | None = None,
    hash_type: str = DEFAULT_HASH,
) -> dict[str, str]:
    """Date and Authorization headers for a request (the client side)."""
    date_header = (now or datetime.now(UTC)).isoformat()
    sig = sign(
        secret_key=secret_key, method=method, path_with_query=path_with_query,
        date_header=date_header, host=host, content_type=content_type,
        api_version=api_version, hash_type=hash_type,
    )
    return {"Date": date_header, "Authorization": authorization_header(access_key, sig, hash_type)}


def check_clock_skew(date_header: str, now: datetime | None = None) -> datetime:
    date = parse_date(date_header)
    current = now or datetime.now(UTC)
    if abs(current - date) > MAX_CLOCK_SKEW:
        raise SignatureError("request date is too far from the server time (more than 15 minutes)")
    return date


def verify(
    *, secret_key: str, signature: str, method: str, path_with_query: str, date_header: str,
    host: str, content_type: str | None, api_version: str, hash_type: str = DEFAULT_HASH,
) -> bool:
    expected = sign(
        secret_key=secret_key, method=method, path_with_query=path_with_query,
        date_header=date_header, host=host, content_type=content_type,
        api_version=api_version, hash_type=hash_type,
    )
    return hmac.compare_digest(expected, signature.lower())
