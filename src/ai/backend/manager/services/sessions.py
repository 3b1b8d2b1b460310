"""Read access to sessions and kernels for the admin API, scoped to the caller: users see
their own keypair's sessions, domain admins their domain's, superadmins all."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.status import SessionStatus

from ..errors import InsufficientPrivilege, InvalidAPIParameters
from ..models import groups, kernels, session_dependencies, sessions, users
from ..types import Requester

session_view = (
    sa.select(sessions, groups.c.name.label("group_name"), users.c.email.label("user_email"))
    .select_from(sessions.join(groups, sessions.c.group_id == groups.c.id)
                 .join(users, sessions.c.user_uuid == users.c.uuid))
)


def parse_statuses(value: str | None) -> list[SessionStatus] | None:
    if not value:
        return None
    out = []
    for part in value.split(","):
        try:
            out.append(SessionStatus(part.strip().upper()))
        except ValueError:
            raise InvalidAPIParameters(f"unknown session status {part!r}") from None
    return out


def scope_condition(requester: Requester, table: sa.Table = sessions) -> sa.ColumnElement[bool]:
    if requester.is_superadmin:
        return sa.true()
    if requester.is_admin:
        return table.c.domain_name == requester.domain_name
    return table.c.access_key == requester.access_key


def select_sessions(requester: Requester, *, statuses: list[SessionStatus] | None = None,
                    access_key: str | None = None, domain_name: str | None = None,
                    group_id: uuid.UUID | None = None, session_id: uuid.UUID | None = None) -> sa.Select[Any]:
    if access_key is not None and access_key != requester.access_key and not requester.is_admin:
        raise InsufficientPrivilege("only admins can list other keypairs' sessions")
    query = session_view.where(scope_condition(requester))
    if statuses:
        query = query.where(sessions.c.status.in_(statuses))
    if access_key is not None:
        query = query.where(sessions.c.access_key == access_key)
    if domain_name is not None:
        query = query.where(sessions.c.domain_name == domain_name)
    if group_id is not None:
        query = query.where(sessions.c.group_id == group_id)
    if session_id is not None:
        query = query.where(sessions.c.id == session_id)
    return query


def select_kernels(requester: Requester, *, session_id: uuid.UUID | None = None,
                   kernel_id: uuid.UUID | None = None, role: str | None = None,
                   agent_id: str | None = None, statuses: list[SessionStatus] | None = None) -> sa.Select[Any]:
    query = sa.select(kernels).where(scope_condition(requester, kernels))
    if session_id is not None:
        query = query.where(kernels.c.session_id == session_id)
    if kernel_id is not None:
        query = query.where(kernels.c.id == kernel_id)
    if role is not None:
        query = query.where(kernels.c.cluster_role == role)
    if agent_id is not None:
        query = query.where(kernels.c.agent == agent_id)
    if statuses:
        query = query.where(kernels.c.status.in_(statuses))
    return query.order_by(kernels.c.cluster_role, kernels.c.cluster_idx)


async def kernels_of(conn: AsyncConnection, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    rows = (await conn.execute(
        sa.select(kernels).where(kernels.c.session_id.in_(session_ids))
        .order_by(kernels.c.cluster_role, kernels.c.cluster_idx)
    )).all()
    out: dict[uuid.UUID, list[Any]] = {sid: [] for sid in session_ids}
    for row in rows:
        out[row.session_id].append(row)
    return out


async def dependencies_of(conn: AsyncConnection, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    dep = sessions.alias("dep")
    rows = (await conn.execute(
        sa.select(session_dependencies.c.session_id, dep.c.id, dep.c.name, dep.c.status)
        .select_from(session_dependencies.join(dep, session_dependencies.c.depends_on == dep.c.id))
        .where(session_dependencies.c.session_id.in_(session_ids))
    )).all()
    out: dict[uuid.UUID, list[Any]] = {sid: [] for sid in session_ids}
    for row in rows:
        out[row.session_id].append(row)
    return out
