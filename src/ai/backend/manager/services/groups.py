"""Projects (groups): lookups for REST handlers and the admin operations GraphQL exposes.

Scope: superadmins see every project, domain admins their domain's, users the projects
they are members of."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import LIVE_STATUSES

from ..errors import (
    Conflict,
    Forbidden,
    InsufficientPrivilege,
    InvalidAPIParameters,
    ObjectNotFound,
)
from ..models import (
    ProjectType,
    association_groups_users,
    groups,
    kernels,
    session_dependencies,
    sessions,
    users,
)
from ..types import Owner, Requester
from .common import integrity_as_conflict


def _as_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def resolve(conn: AsyncConnection, domain_name: str, name_or_id: str | uuid.UUID) -> Any:
    """A project by UUID, or by name within the domain; ObjectNotFound otherwise."""
    gid = _as_uuid(name_or_id)
    query = sa.select(groups)
    if gid is not None:
        query = query.where(groups.c.id == gid)
    else:
        query = query.where((groups.c.name == str(name_or_id)) & (groups.c.domain_name == domain_name))
    row = (await conn.execute(query)).first()
    if row is None or row.domain_name != domain_name:
        raise ObjectNotFound(f"no project {name_or_id!r} in domain {domain_name!r}")
    return row


async def is_member(conn: AsyncConnection, user_uuid: uuid.UUID, group_id: uuid.UUID) -> bool:
    return bool((await conn.execute(
        sa.select(sa.func.count()).select_from(association_groups_users).where(
            (association_groups_users.c.user_id == user_uuid) & (association_groups_users.c.group_id == group_id)
        )
    )).scalar_one())


async def resolve_for_owner(conn: AsyncConnection, owner: Owner, name_or_id: str | uuid.UUID,
                            *, admin_override: bool = False) -> Any:
    """The owner's project; members only, unless the caller administers the domain."""
    row = await resolve(conn, owner.domain_name, name_or_id)
    if not admin_override and not await is_member(conn, owner.user_uuid, row.id):
        raise Forbidden(f"the user is not a member of project {row.name!r}")
    return row


# --- admin operations ---------------------------------------------------------------------------

def scope_condition(requester: Requester) -> sa.ColumnElement[bool]:
    if requester.is_superadmin:
        return sa.true()
    if requester.is_admin:
        return groups.c.domain_name == requester.domain_name
    return groups.c.id.in_(sa.select(association_groups_users.c.group_id)
                           .where(association_groups_users.c.user_id == requester.user_uuid))


def select_groups(requester: Requester, *, domain_name: str | None = None, is_active: bool | None = None,
                  name: str | None = None, group_id: uuid.UUID | None = None,
                  types: list[str] | None = None) -> sa.Select[Any]:
    query = sa.select(groups).where(scope_condition(requester))
    if domain_name is not None:
        query = query.where(groups.c.domain_name == domain_name)
    if is_active is not None:
        query = query.where(groups.c.is_active == is_active)
    if name is not None:
        query = query.where(groups.c.name == name)
    if group_id is not None:
        query = query.where(groups.c.id == group_id)
    if types:
        query = query.where(groups.c.type.in_([_project_type(t) for t in types]))
    return query.order_by(groups.c.domain_name, groups.c.name)


def _project_type(value: str) -> ProjectType:
    for member in ProjectType:
        if value.lower() == member.value or value.upper().replace("-", "_") == member.name:
            return member
    raise InvalidAPIParameters(f"unknown project type {value!r}")


def _check_manage(requester: Requester, domain_name: str) -> None:
    if not requester.can_manage_domain(domain_name):
        raise InsufficientPrivilege(f"no admin access to projects of domain {domain_name!r}")


async def get_by_id(conn: AsyncConnection, group_id: uuid.UUID) -> Any:
    row = (await conn.execute(sa.select(groups).where(groups.c.id == group_id))).first()
    if row is None:
        raise ObjectNotFound(object_name="project")
    return row


_SETTABLE = {"name", "description", "is_active", "integration_id", "total_resource_slots",
             "allowed_vfolder_hosts", "resource_policy", "type", "domain_name"}


async def create(conn: AsyncConnection, requester: Requester, name: str, values: dict[str, Any]) -> Any:
    domain_name = values.get("domain_name")
    if not domain_name:
        raise InvalidAPIParameters("domain_name is required")
    _check_manage(requester, domain_name)
    if "type" in values:
        values["type"] = _project_type(values["type"])
    async with integrity_as_conflict(f"project {name!r}"):
        return (await conn.execute(
            sa.insert(groups).values(name=name, **{k: v for k, v in values.items() if k in _SETTABLE})
            .returning(groups)
        )).first()


async def modify(conn: AsyncConnection, requester: Requester, group_id: uuid.UUID, values: dict[str, Any],
                 *, user_update_mode: str | None = None, user_uuids: list[str] | None = None) -> Any:
    current = await get_by_id(conn, group_id)
    _check_manage(requester, current.domain_name)
    if "domain_name" in values and values["domain_name"] != current.domain_name:
        raise InvalidAPIParameters("a project cannot move to another domain")
    if "type" in values:
        values["type"] = _project_type(values["type"])
    row = current
    async with integrity_as_conflict(f"project {current.name!r}"):
        if values:
            row = (await conn.execute(
                sa.update(groups).where(groups.c.id == group_id)
                .values(**{k: v for k, v in values.items() if k in _SETTABLE}).returning(groups)
            )).first()
        if user_update_mode is not None:
            await _update_members(conn, current, user_update_mode, user_uuids or [])
    return row


async def _update_members(conn: AsyncConnection, grp: Any, mode: str, user_uuids: list[str]) -> None:
    if mode not in ("add", "remove"):
        raise InvalidAPIParameters("user_update_mode must be 'add' or 'remove'")
    try:
        ids = [uuid.UUID(str(u)) for u in user_uuids]
    except ValueError:
        raise InvalidAPIParameters("user_uuids must be UUIDs") from None
    if mode == "remove":
        await conn.execute(sa.delete(association_groups_users).where(
            (association_groups_users.c.group_id == grp.id) & association_groups_users.c.user_id.in_(ids)))
        return
    found: set[uuid.UUID] = set((await conn.execute(sa.select(users.c.uuid).where(
        users.c.uuid.in_(ids) & (users.c.domain_name == grp.domain_name)))).scalars())
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidAPIParameters(f"no such users in domain {grp.domain_name!r}: {', '.join(missing)}")
    if ids:
        await conn.execute(insert(association_groups_users).values(
            [{"user_id": u, "group_id": grp.id} for u in dict.fromkeys(ids)]).on_conflict_do_nothing())


async def deactivate(conn: AsyncConnection, requester: Requester, group_id: uuid.UUID) -> None:
    await modify(conn, requester, group_id, {"is_active": False})


async def purge(conn: AsyncConnection, requester: Requester, group_id: uuid.UUID) -> None:
    """Delete a project and its finished sessions; refused while it has live sessions."""
    current = await get_by_id(conn, group_id)
    _check_manage(requester, current.domain_name)
    live = (await conn.execute(sa.select(sa.func.count()).select_from(sessions).where(
        (sessions.c.group_id == group_id) & sessions.c.status.in_(list(LIVE_STATUSES))))).scalar_one()
    if live:
        raise Conflict(f"the project still has {live} live sessions; terminate them first")
    session_ids = sa.select(sessions.c.id).where(sessions.c.group_id == group_id)
    await conn.execute(sa.delete(session_dependencies).where(
        session_dependencies.c.session_id.in_(session_ids) | session_dependencies.c.depends_on.in_(session_ids)))
    await conn.execute(sa.delete(kernels).where(kernels.c.group_id == group_id))
    await conn.execute(sa.delete(sessions).where(sessions.c.group_id == group_id))
    await conn.execute(sa.delete(groups).where(groups.c.id == group_id))
