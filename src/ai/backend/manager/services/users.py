"""Users: scoped lookups and the admin operations on accounts.

Scope: superadmins see everyone, domain admins their domain, users themselves. Domain admins
cannot create, change or remove superadmins, nor grant the superadmin role, nor move users
to another domain.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import LIVE_STATUSES

from ..errors import Conflict, InsufficientPrivilege, InvalidAPIParameters, ObjectNotFound
from ..models import (
    UserRole,
    UserStatus,
    association_groups_users,
    groups,
    kernels,
    keypairs,
    session_dependencies,
    sessions,
    users,
)
from ..types import Requester
from .auth import generate_keypair, hash_password_async
from .common import integrity_as_conflict

DEFAULT_KEYPAIR_RATE_LIMIT = 30000


def scope_condition(requester: Requester) -> sa.ColumnElement[bool]:
    if requester.is_superadmin:
        return sa.true()
    if requester.is_admin:
        return users.c.domain_name == requester.domain_name
    return users.c.uuid == requester.user_uuid


def select_users(requester: Requester, *, domain_name: str | None = None, group_id: uuid.UUID | None = None,
                 status: str | None = None, is_active: bool | None = None) -> sa.Select[Any]:
    query = sa.select(users).where(scope_condition(requester))
    if domain_name is not None:
        query = query.where(users.c.domain_name == domain_name)
    if group_id is not None:
        query = query.where(users.c.uuid.in_(
            sa.select(association_groups_users.c.user_id).where(association_groups_users.c.group_id == group_id)))
    if status is not None:
        query = query.where(users.c.status == parse_status(status))
    if is_active is not None:
        active = users.c.status == UserStatus.ACTIVE
        query = query.where(active if is_active else ~active)
    return query


def parse_status(value: str) -> UserStatus:
    for member in UserStatus:
        if value.lower() == member.value or value.upper().replace("-", "_") == member.name:
            return member
    raise InvalidAPIParameters(f"unknown user status {value!r} (one of {', '.join(s.value for s in UserStatus)})")


def parse_role(value: str) -> UserRole:
    for member in UserRole:
        if value.lower() == member.value:
            return member
    raise InvalidAPIParameters(f"unknown role {value!r} (one of {', '.join(r.value for r in UserRole)})")


async def get_scoped(conn: AsyncConnection, requester: Requester, *, email: str | None = None,
                     user_uuid: uuid.UUID | None = None) -> Any:
    query = sa.select(users).where(scope_condition(requester))
    if email is not None:
        query = query.where(users.c.email == email)
    if user_uuid is not None:
        query = query.where(users.c.uuid == user_uuid)
    row = (await conn.execute(query)).first()
    if row is None:
        raise ObjectNotFound(object_name="user")
    return row


def _check_target(requester: Requester, *, domain_name: str, role: UserRole) -> None:
    if requester.is_superadmin:
        return
    if not requester.is_admin or domain_name != requester.domain_name:
        raise InsufficientPrivilege(f"no admin access to users of domain {domain_name!r}")
    if role == UserRole.SUPERADMIN:
        raise InsufficientPrivilege("only superadmins can manage superadmin accounts")


async def _set_groups(conn: AsyncConnection, user_uuid: uuid.UUID, domain_name: str,
                      group_ids: list[str]) -> None:
    ids = [_uuid(g, "group_ids") for g in group_ids]
    if ids:
        found: set[uuid.UUID] = set((await conn.execute(
            sa.select(groups.c.id).where(groups.c.id.in_(ids) & (groups.c.domain_name == domain_name))
        )).scalars())
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise InvalidAPIParameters(f"no such projects in domain {domain_name!r}: {', '.join(missing)}")
    await conn.execute(sa.delete(association_groups_users).where(association_groups_users.c.user_id == user_uuid))
    if ids:
        await conn.execute(sa.insert(association_groups_users),
                           [{"user_id": user_uuid, "group_id": gid} for gid in dict.fromkeys(ids)])


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidAPIParameters(f"{what}: {value!r} is not a UUID") from None


_SIMPLE_FIELDS = ("username", "full_name", "description", "need_password_change", "allowed_client_ip",
                  "totp_activated", "resource_policy", "sudo_session_enabled")


async def create(conn: AsyncConnection, requester: Requester, email: str, props: dict[str, Any]) -> Any:
    """A new user with one keypair (admin keypairs for admin roles)."""
    role = parse_role(props.get("role") or "user")
    domain_name = props["domain_name"]
    _check_target(requester, domain_name=domain_name, role=role)
    if not email or "@" not in email:
        raise InvalidAPIParameters(f"invalid email: {email!r}")
    values: dict[str, Any] = {k: props[k] for k in _SIMPLE_FIELDS if props.get(k) is not None}
    values["username"] = values.get("username") or email
    status = parse_status(props["status"]) if props.get("status") else UserStatus.ACTIVE
    if props.get("is_active") is False:
        status = UserStatus.INACTIVE
    async with integrity_as_conflict(f"user {email!r}"):
        row = (await conn.execute(
            sa.insert(users).values(
                email=email, domain_name=domain_name, role=role, status=status,
                password=await hash_password_async(props["password"]),
                password_changed_at=datetime.now(UTC), **values,
            ).returning(users)
        )).first()
        assert row is not None
        access_key, secret_key = generate_keypair()
        await conn.execute(sa.insert(keypairs).values(
            user_id=email, access_key=access_key, secret_key=secret_key, is_active=True,
            is_admin=role in (UserRole.ADMIN, UserRole.SUPERADMIN), resource_policy="default",
            rate_limit=DEFAULT_KEYPAIR_RATE_LIMIT, user=row.uuid,
        ))
        row = (await conn.execute(
            sa.update(users).where(users.c.uuid == row.uuid).values(main_access_key=access_key).returning(users)
        )).first()
        if props.get("group_ids"):
            await _set_groups(conn, row.uuid, domain_name, list(props["group_ids"]))
    return row


async def modify(conn: AsyncConnection, requester: Requester, email: str, props: dict[str, Any]) -> Any:
    current = await get_scoped(conn, requester, email=email)
    _check_target(requester, domain_name=current.domain_name, role=current.role)
    values: dict[str, Any] = {k: props[k] for k in _SIMPLE_FIELDS if props.get(k) is not None}
    if props.get("password"):
        values["password"] = await hash_password_async(props["password"])
        values["password_changed_at"] = datetime.now(UTC)
    if props.get("role") is not None:
        values["role"] = parse_role(props["role"])
        _check_target(requester, domain_name=current.domain_name, role=values["role"])
    if props.get("status") is not None:
        values["status"] = parse_status(props["status"])
    elif props.get("is_active") is not None:
        values["status"] = UserStatus.ACTIVE if props["is_active"] else UserStatus.INACTIVE
    if props.get("domain_name") is not None and props["domain_name"] != current.domain_name:
        if not requester.is_superadmin:
            raise InsufficientPrivilege("only superadmins can move users between domains")
        values["domain_name"] = props["domain_name"]
    if props.get("main_access_key") is not None:
        owned = (await conn.execute(sa.select(keypairs.c.access_key).where(
            (keypairs.c.access_key == props["main_access_key"]) & (keypairs.c.user == current.uuid)))).first()
        if owned is None:
            raise InvalidAPIParameters("main_access_key must be one of the user's own keypairs")
        values["main_access_key"] = props["main_access_key"]
    async with integrity_as_conflict(f"user {email!r}"):
        row = current
        if values:
            row = (await conn.execute(
                sa.update(users).where(users.c.uuid == current.uuid).values(**values).returning(users)
            )).first()
        if "role" in values and values["role"] != current.role:
            # Keypairs follow the role: admin roles get admin keypairs, others lose them.
            await conn.execute(sa.update(keypairs).where(keypairs.c.user == current.uuid).values(
                is_admin=values["role"] in (UserRole.ADMIN, UserRole.SUPERADMIN)))
        if props.get("group_ids") is not None:
            await _set_groups(conn, current.uuid, row.domain_name, list(props["group_ids"]))
    return row


async def delete(conn: AsyncConnection, requester: Requester, email: str) -> None:
    """Mark the user deleted and deactivate their keypairs (the rows stay for history)."""
    current = await get_scoped(conn, requester, email=email)
    _check_target(requester, domain_name=current.domain_name, role=current.role)
    if current.uuid == requester.user_uuid:
        raise InvalidAPIParameters("you cannot delete yourself")
    await conn.execute(sa.update(users).where(users.c.uuid == current.uuid).values(status=UserStatus.DELETED))
    await conn.execute(sa.update(keypairs).where(keypairs.c.user == current.uuid).values(is_active=False))


async def purge(conn: AsyncConnection, requester: Requester, email: str) -> None:
    """Remove the user with their keypairs and finished sessions; refused while sessions live."""
    current = await get_scoped(conn, requester, email=email)
    _check_target(requester, domain_name=current.domain_name, role=current.role)
    if current.uuid == requester.user_uuid:
        raise InvalidAPIParameters("you cannot purge yourself")
    live = (await conn.execute(sa.select(sa.func.count()).select_from(sessions).where(
        (sessions.c.user_uuid == current.uuid) & sessions.c.status.in_(list(LIVE_STATUSES))))).scalar_one()
    if live:
        raise Conflict(f"the user still has {live} live sessions; terminate them first")
    session_ids = sa.select(sessions.c.id).where(sessions.c.user_uuid == current.uuid)
    await conn.execute(sa.delete(session_dependencies).where(
        session_dependencies.c.session_id.in_(session_ids) | session_dependencies.c.depends_on.in_(session_ids)))
    await conn.execute(sa.delete(kernels).where(kernels.c.user_uuid == current.uuid))
    await conn.execute(sa.delete(sessions).where(sessions.c.user_uuid == current.uuid))
    await conn.execute(sa.update(users).where(users.c.uuid == current.uuid).values(main_access_key=None))
    await conn.execute(sa.delete(keypairs).where(keypairs.c.user == current.uuid))
    await conn.execute(sa.delete(users).where(users.c.uuid == current.uuid))


async def groups_of(conn: AsyncConnection, user_uuids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    rows = (await conn.execute(
        sa.select(association_groups_users.c.user_id, groups.c.id, groups.c.name)
        .select_from(association_groups_users.join(groups, association_groups_users.c.group_id == groups.c.id))
        .where(association_groups_users.c.user_id.in_(user_uuids)).order_by(groups.c.name)
    )).all()
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {u: [] for u in user_uuids}
    for row in rows:
        out[row.user_id].append((row.id, row.name))
    return out
