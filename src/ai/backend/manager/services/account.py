"""Self-service account operations: password, full name, SSH keypair, and role queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import AuthorizationFailed, Forbidden, InvalidAPIParameters, ObjectNotFound
from ..models import UserRole, association_groups_users, groups, keypairs, users
from ..types import Requester
from .auth import generate_ssh_keypair, hash_password_async, verify_password_async


async def update_password(db: AsyncEngine, requester: Requester, old: str, new: str, new2: str) -> None:
    if new != new2:
        raise InvalidAPIParameters("new_password and new_password2 do not match")
    async with db.begin() as conn:
        current: str | None = (await conn.execute(
            sa.select(users.c.password).where(users.c.uuid == requester.user_uuid)
        )).scalar_one()
        if not await verify_password_async(old, current):
            raise AuthorizationFailed("The old password is wrong.")
        await conn.execute(
            sa.update(users).where(users.c.uuid == requester.user_uuid).values(
                password=await hash_password_async(new), need_password_change=False,
                password_changed_at=datetime.now(UTC),
            )
        )


async def update_password_no_auth(db: AsyncEngine, domain: str, email: str, current: str, new: str) -> None:
    """For users whose password must be changed before they can log in."""
    async with db.begin() as conn:
        row = (await conn.execute(
            sa.select(users.c.uuid, users.c.password, users.c.domain_name).where(users.c.email == email)
        )).first()
        if row is None or row.domain_name != domain or not await verify_password_async(current, row.password):
            raise AuthorizationFailed("User credential mismatch.")
        if current == new:
            raise InvalidAPIParameters("the new password must differ from the current one")
        await conn.execute(
            sa.update(users).where(users.c.uuid == row.uuid).values(
                password=await hash_password_async(new), need_password_change=False,
                password_changed_at=datetime.now(UTC),
            )
        )


async def update_full_name(db: AsyncEngine, requester: Requester, email: str, full_name: str) -> None:
    if email != requester.email:
        raise Forbidden("users can change only their own full name")
    async with db.begin() as conn:
        await conn.execute(
            sa.update(users).where(users.c.uuid == requester.user_uuid).values(full_name=full_name)
        )


async def get_ssh_public_key(db: AsyncEngine, access_key: str) -> str | None:
    async with db.connect() as conn:
        return (await conn.execute(
            sa.select(keypairs.c.ssh_public_key).where(keypairs.c.access_key == access_key)
        )).scalar_one_or_none()


async def set_ssh_keypair(db: AsyncEngine, access_key: str, pubkey: str, privkey: str) -> None:
    pubkey, privkey = pubkey.strip(), privkey.strip()
    if not pubkey.startswith(("ssh-", "ecdsa-")) or len(pubkey.split()) < 2:
        raise InvalidAPIParameters("pubkey is not an OpenSSH public key")
    if "PRIVATE KEY-----" not in privkey:
        raise InvalidAPIParameters("privkey is not a PEM/OpenSSH private key")
    async with db.begin() as conn:
        await conn.execute(
            sa.update(keypairs).where(keypairs.c.access_key == access_key)
            .values(ssh_public_key=pubkey, ssh_private_key=privkey + "\n")
        )


async def refresh_ssh_keypair(db: AsyncEngine, access_key: str) -> tuple[str, str]:
    pubkey, privkey = await generate_ssh_keypair()
    async with db.begin() as conn:
        await conn.execute(
            sa.update(keypairs).where(keypairs.c.access_key == access_key)
            .values(ssh_public_key=pubkey, ssh_private_key=privkey)
        )
    return pubkey, privkey


async def get_roles(db: AsyncEngine, requester: Requester, group_id: uuid.UUID | None) -> dict[str, str]:
    """The caller's role at each level, as /auth/role reports it."""
    result = {
        "global_role": "superadmin" if requester.is_superadmin else "user",
        "domain_role": "admin" if requester.is_admin else "user",
    }
    if group_id is not None:
        async with db.connect() as conn:
            grp = (await conn.execute(
                sa.select(groups.c.domain_name).where(groups.c.id == group_id)
            )).first()
            if grp is None:
                raise ObjectNotFound(object_name="group")
            member = (await conn.execute(
                sa.select(sa.func.count()).select_from(association_groups_users).where(
                    (association_groups_users.c.group_id == group_id)
                    & (association_groups_users.c.user_id == requester.user_uuid)
                )
            )).scalar_one()
        if requester.is_superadmin or (requester.role == UserRole.ADMIN and grp.domain_name == requester.domain_name):
            result["group_role"] = "admin"
        elif member:
            result["group_role"] = "user"
        else:
            raise Forbidden("not a member of the group")
    return result
