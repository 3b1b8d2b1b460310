"""Keypairs: scoped lookups and admin operations. A keypair belongs to one user; its
`user_id` column keeps the owner's email (the API's historical name)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import LIVE_STATUSES

from ..errors import InsufficientPrivilege, InvalidAPIParameters, ObjectNotFound
from ..models import (
    UserRole,
    association_groups_users,
    groups,
    keypair_resource_policies,
    keypairs,
    sessions,
    users,
)
from ..types import Requester
from .auth import generate_keypair
from .common import integrity_as_conflict
from .users import DEFAULT_KEYPAIR_RATE_LIMIT

_joined = keypairs.join(users, keypairs.c.user == users.c.uuid)


def scope_condition(requester: Requester) -> sa.ColumnElement[bool]:
    if requester.is_superadmin:
        return sa.true()
    if requester.is_admin:
        return users.c.domain_name == requester.domain_name
    return keypairs.c.user == requester.user_uuid


def select_keypairs(requester: Requester, *, domain_name: str | None = None, email: str | None = None,
                    is_active: bool | None = None) -> sa.Select[Any]:
    query = (sa.select(keypairs, users.c.full_name, users.c.domain_name, users.c.email.label("owner_email"),
                       users.c.role.label("owner_role"))
             .select_from(_joined).where(scope_condition(requester)))
    if domain_name is not None:
        query = query.where(users.c.domain_name == domain_name)
    if email is not None:
        query = query.where(users.c.email == email)
    if is_active is not None:
        query = query.where(keypairs.c.is_active == is_active)
    return query


async def get_scoped(conn: AsyncConnection, requester: Requester, access_key: str) -> Any:
    row = (await conn.execute(select_keypairs(requester).where(keypairs.c.access_key == access_key))).first()
    if row is None:
        raise ObjectNotFound(object_name="keypair")
    return row


def _check_manage(requester: Requester, *, domain_name: str, owner_role: UserRole) -> None:
    if requester.is_superadmin:
        return
    if not requester.is_admin or domain_name != requester.domain_name:
        raise InsufficientPrivilege(f"no admin access to keypairs of domain {domain_name!r}")
    if owner_role == UserRole.SUPERADMIN:
        raise InsufficientPrivilege("only superadmins can manage superadmins' keypairs")


async def _check_policy(conn: AsyncConnection, name: str) -> None:
    found = (await conn.execute(sa.select(keypair_resource_policies.c.name)
                                .where(keypair_resource_policies.c.name == name))).first()
    if found is None:
        raise InvalidAPIParameters(f"no keypair resource policy named {name!r}")


async def create(conn: AsyncConnection, requester: Requester, user_email: str, props: dict[str, Any]) -> Any:
    owner = (await conn.execute(sa.select(users).where(users.c.email == user_email))).first()
    if owner is None:
        raise ObjectNotFound(f"no user with email {user_email!r}")
    _check_manage(requester, domain_name=owner.domain_name, owner_role=owner.role)
    policy = props.get("resource_policy") or "default"
    await _check_policy(conn, policy)
    access_key, secret_key = generate_keypair()
    async with integrity_as_conflict("keypair"):
        await conn.execute(sa.insert(keypairs).values(
            user_id=owner.email, user=owner.uuid, access_key=access_key, secret_key=secret_key,
            is_active=props.get("is_active") is not False,
            is_admin=bool(props.get("is_admin") or False), resource_policy=policy,
            rate_limit=props.get("rate_limit") or DEFAULT_KEYPAIR_RATE_LIMIT,
        ))
    return await get_scoped(conn, requester, access_key)


async def modify(conn: AsyncConnection, requester: Requester, access_key: str, props: dict[str, Any]) -> Any:
    current = await get_scoped(conn, requester, access_key)
    _check_manage(requester, domain_name=current.domain_name, owner_role=current.owner_role)
    values = {k: props[k] for k in ("is_active", "is_admin", "resource_policy", "rate_limit")
              if props.get(k) is not None}
    if "resource_policy" in values:
        await _check_policy(conn, values["resource_policy"])
    if "rate_limit" in values and values["rate_limit"] < 0:
        raise InvalidAPIParameters("rate_limit must not be negative")
    if values:
        await conn.execute(sa.update(keypairs).where(keypairs.c.access_key == access_key).values(**values))
    return await get_scoped(conn, requester, access_key)


async def delete(conn: AsyncConnection, requester: Requester, access_key: str) -> None:
    current = await get_scoped(conn, requester, access_key)
    _check_manage(requester, domain_name=current.domain_name, owner_role=current.owner_role)
    if access_key == requester.access_key:
        raise InvalidAPIParameters("you cannot delete the keypair this request is signed with")
    async with integrity_as_conflict(f"keypair {access_key}"):
        await conn.execute(sa.delete(keypairs).where(keypairs.c.access_key == access_key))


async def concurrency_used(conn: AsyncConnection, access_keys: list[str]) -> dict[str, int]:
    rows = (await conn.execute(
        sa.select(sessions.c.access_key, sa.func.count()).where(
            sessions.c.access_key.in_(access_keys) & sessions.c.status.in_(list(LIVE_STATUSES)))
        .group_by(sessions.c.access_key)
    )).all()
    counts = {ak: 0 for ak in access_keys}
    counts.update({row[0]: int(row[1]) for row in rows})
    return counts


async def projects_of(conn: AsyncConnection, user_uuids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = (await conn.execute(
        sa.select(association_groups_users.c.user_id, groups.c.name)
        .select_from(association_groups_users.join(groups, association_groups_users.c.group_id == groups.c.id))
        .where(association_groups_users.c.user_id.in_(user_uuids)).order_by(groups.c.name)
    )).all()
    out: dict[uuid.UUID, list[str]] = {u: [] for u in user_uuids}
    for row in rows:
        out[row.user_id].append(row.name)
    return out
