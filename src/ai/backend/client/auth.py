"""Request signing for API (keypair) mode; the HMAC routine is shared with the server."""

from __future__ import annotations

from datetime import datetime

from yarl import URL

from ai.backend.common import signing

__all__ = ("generate_signature",)


def generate_signature(*, method: str, version: str, endpoint: URL, date: datetime, rel_url: str,
                       content_type: str, access_key: str, secret_key: str,
                       hash_type: str = "sha256") -> tuple[dict[str, str], str]:
    """The Authorization header (and the bare signature) for one request."""
    sig = signing.sign(
        secret_key=secret_key, method=method, path_with_query=rel_url, date_header=date.isoformat(),
        host=endpoint.raw_authority, content_type=content_type, api_version=version, hash_type=hash_type,
    )
    return {"Authorization": signing.authorization_header(access_key, sig, hash_type)}, sig
