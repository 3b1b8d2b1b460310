"""Authentication: keypair lookup for signed requests, passwords, key generation.

Passwords are stored as bcrypt hashes only. bcrypt reads at most 72 bytes, so longer
passwords are refused when set rather than silently truncated.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ai.backend.common import signing

from ..errors import AuthorizationFailed, InvalidAPIParameters, ObjectNotFound, ServiceUnavailable
from ..models import UserRole, UserStatus, keypairs, users
from ..types import Owner, Requester

MAX_PASSWORD_BYTES = 72
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits


# --- passwords --------------------------------------------------------------------------------

def check_password_policy(password: str) -> None:
    if not password:
        raise InvalidAPIParameters("the password must not be empty")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise InvalidAPIParameters(f"the password must be at most {MAX_PASSWORD_BYTES} bytes long")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def verify_password(password: str, hashed: str | None) -> bool:
    if not hashed or not password or len(password.encode()) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash
        return False


async def verify_password_async(password: str, hashed: str | None) -> bool:
    """bcrypt is deliberately slow; keep it off the event loop."""
    return await asyncio.to_thread(verify_password, password, hashed)


async def hash_password_async(password: str) -> str:
    check_password_policy(password)
    return await asyncio.to_thread(hash_password, password)


# --- keys ---------------------------------------------------------------------------------------

def generate_keypair() -> tuple[str, str]:
    """A new (access key, secret key): "AKIA" + 16 characters, and 40 URL-safe characters."""
    access_key = "AKIA" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16))
    secret_key = secrets.token_urlsafe(30)[:40]
    return access_key, secret_key


async def generate_ssh_keypair() -> tuple[str, str]:
    """(public key, private key) in OpenSSH format, made by ssh-keygen."""
    with tempfile.TemporaryDirectory(prefix="bai-ssh-") as tmp:
        keyfile = Path(tmp) / "id"
        try:
            proc = await asyncio.create_subprocess_exec(
                "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "work@backend.ai", "-f", str(keyfile),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise ServiceUnavailable("ssh-keygen is not installed on the manager host") from None
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise ServiceUnavailable(f"ssh-keygen failed: {err.decode(errors='replace').strip()}")
        return (keyfile.with_suffix(".pub").read_text().strip(), keyfile.read_text())


# --- requests -----------------------------------------------------------------------------------

_requester_columns = (
    keypairs.c.access_key, keypairs.c.secret_key, keypairs.c.is_active, keypairs.c.is_admin,
    keypairs.c.resource_policy, keypairs.c.rate_limit,
    users.c.uuid, users.c.email, users.c.role, users.c.domain_name, users.c.status,
)


async def load_requester(db: AsyncEngine, access_key: str) -> Requester:
    """The active keypair and its active owner; AuthorizationFailed otherwise (never says which)."""
    query = (
        sa.select(*_requester_columns)
        .select_from(keypairs.join(users, keypairs.c.user == users.c.uuid))
        .where(keypairs.c.access_key == access_key)
    )
    async with db.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None or not row.is_active or row.status != UserStatus.ACTIVE:
        raise AuthorizationFailed("Access key not found or inactive.")
    return Requester(
        access_key=row.access_key, secret_key=row.secret_key, user_uuid=row.uuid, email=row.email,
        user_role=row.role, domain_name=row.domain_name, keypair_is_admin=row.is_admin,
        resource_policy=row.resource_policy, rate_limit=row.rate_limit,
    )


def verify_request_signature(
    requester: Requester, *, authorization: signing.ParsedAuthorization, method: str,
    path_with_query: str, date_header: str, host: str, content_type: str | None, api_version: str,
) -> None:
    try:
        signing.check_clock_skew(date_header)
        ok = signing.verify(
            secret_key=requester.secret_key, signature=authorization.signature, method=method,
            path_with_query=path_with_query, date_header=date_header, host=host,
            content_type=content_type, api_version=api_version, hash_type=authorization.hash_type,
        )
    except signing.SignatureError as e:
        raise AuthorizationFailed(str(e)) from None
    if not ok:
        raise AuthorizationFailed("Signature mismatch.")


async def touch_keypair(db: AsyncEngine, access_key: str) -> None:
    async with db.begin() as conn:
        await conn.execute(
            sa.update(keypairs).where(keypairs.c.access_key == access_key)
            .values(last_used=datetime.now(UTC), num_queries=keypairs.c.num_queries + 1)
        )


async def load_owner(conn: AsyncConnection, access_key: str) -> Owner:
    query = (
        sa.select(keypairs.c.access_key, keypairs.c.resource_policy, users.c.uuid, users.c.email,
                  users.c.role, users.c.domain_name)
        .select_from(keypairs.join(users, keypairs.c.user == users.c.uuid))
        .where(keypairs.c.access_key == access_key)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise ObjectNotFound(object_name="keypair")
    return Owner(access_key=row.access_key, user_uuid=row.uuid, email=row.email, role=row.role,
                 domain_name=row.domain_name, resource_policy=row.resource_policy)


async def authorize_by_password(db: AsyncEngine, domain: str, email: str, password: str) -> dict[str, str]:
    """Email + password -> the user's keypair (its main one, else an active admin one, else any)."""
    async with db.connect() as conn:
        user = (await conn.execute(
            sa.select(users.c.uuid, users.c.password, users.c.role, users.c.status,
                      users.c.main_access_key, users.c.domain_name)
            .where((users.c.email == email) | (users.c.username == email))
        )).first()
        if (
            user is None or user.domain_name != domain
            or not await verify_password_async(password, user.password)
        ):
            raise AuthorizationFailed("User credential mismatch.")
        if user.status != UserStatus.ACTIVE:
            raise AuthorizationFailed(f"The user is {user.status.value}.")
        kp = (await conn.execute(
            sa.select(keypairs.c.access_key, keypairs.c.secret_key)
            .where((keypairs.c.user == user.uuid) & keypairs.c.is_active)
            .order_by((keypairs.c.access_key == (user.main_access_key or "")).desc(),
                      keypairs.c.is_admin.desc(), keypairs.c.created_at)
            .limit(1)
        )).first()
    if kp is None:
        raise AuthorizationFailed("No active keypair for the user.")
    role = user.role.value if isinstance(user.role, UserRole) else str(user.role)
    return {"access_key": kp.access_key, "secret_key": kp.secret_key, "role": role,
            "status": user.status.value}
