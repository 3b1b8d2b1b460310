"""Dotfiles: small files the agent writes into new sessions' home directories, owned by a
keypair (user scope), a project (group scope) or a domain.

Users manage their own; admins manage their domain's projects and the domain itself (a
superadmin: any). Members read their project's and domain's dotfiles. Paths are relative
and stay under the home directory; each owner keeps at most MAX_TOTAL_BYTES of data.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import Forbidden, InvalidAPIParameters, ObjectNotFound, QuotaExceeded
from ..models.domain import domains
from ..models.dotfile import DotfileScope, dotfiles
from ..types import Owner, Requester
from . import groups as group_service
from .common import integrity_as_conflict

MAX_TOTAL_BYTES = 64 * 1024
MAX_COUNT = 100
_PERMISSION = re.compile(r"^[0-7]{3,4}$")


@dataclass(frozen=True)
class Scope:
    """Which owner's dotfiles: exactly one of the three is meaningful per `kind`."""
    kind: DotfileScope
    access_key: str | None = None
    group_id: uuid.UUID | None = None
    domain_name: str | None = None

    def condition(self) -> sa.ColumnElement[bool]:
        cond = dotfiles.c.scope == self.kind
        if self.kind == DotfileScope.USER:
            return cond & (dotfiles.c.access_key == self.access_key)
        if self.kind == DotfileScope.GROUP:
            return cond & (dotfiles.c.group_id == self.group_id)
        return cond & (dotfiles.c.domain_name == self.domain_name)

    def owner_values(self) -> dict[str, Any]:
        return {"scope": self.kind, "access_key": self.access_key, "group_id": self.group_id,
                "domain_name": self.domain_name if self.kind == DotfileScope.DOMAIN else None}


def check_path(path: str) -> str:
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts or path.strip() != path or len(path) > 256:
        raise InvalidAPIParameters(f"dotfile path must be a relative path inside the home directory: {path!r}")
    return str(p)


def check_permission(permission: str) -> str:
    if not _PERMISSION.match(permission):
        raise InvalidAPIParameters(f"permission must be an octal mode such as 644, not {permission!r}")
    return permission


# --- resolving the scope (with privilege checks) ----------------------------------------------

def user_scope(owner: Owner) -> Scope:
    return Scope(DotfileScope.USER, access_key=owner.access_key)


async def group_scope(db: AsyncEngine, requester: Requester, group: str, domain: str | None, *,
                      write: bool) -> Scope:
    domain_name = domain or requester.domain_name
    async with db.connect() as conn:
        row = await group_service.resolve(conn, domain_name, group)
        if write:
            if not requester.can_manage_domain(row.domain_name):
                raise Forbidden("only admins of the project's domain can change its dotfiles")
        elif not requester.can_manage_domain(row.domain_name) and \
                not await group_service.is_member(conn, requester.user_uuid, row.id):
            raise Forbidden(f"not a member of project {row.name!r}")
    return Scope(DotfileScope.GROUP, group_id=row.id)


async def domain_scope(db: AsyncEngine, requester: Requester, domain: str, *, write: bool) -> Scope:
    async with db.connect() as conn:
        exists = (await conn.execute(sa.select(domains.c.name).where(domains.c.name == domain))).first()
    if exists is None:
        raise ObjectNotFound(f"no domain {domain!r}")
    if write and not requester.can_manage_domain(domain):
        raise Forbidden("only admins of the domain can change its dotfiles")
    if not write and not requester.is_superadmin and requester.domain_name != domain:
        raise Forbidden("the domain's dotfiles are visible to its users only")
    return Scope(DotfileScope.DOMAIN, domain_name=domain)


# --- operations --------------------------------------------------------------------------------

async def _check_quota(conn: AsyncConnection, scope: Scope, path: str, new_data: str) -> None:
    row = (await conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.octet_length(dotfiles.c.data)), 0))
        .where(scope.condition() & (dotfiles.c.path != path))
    )).one()
    count, used = int(row[0]), int(row[1])
    if count + 1 > MAX_COUNT:
        raise QuotaExceeded(f"at most {MAX_COUNT} dotfiles per owner")
    if used + len(new_data.encode()) > MAX_TOTAL_BYTES:
        raise QuotaExceeded(f"dotfiles of one owner may hold at most {MAX_TOTAL_BYTES} bytes in total")


async def create(db: AsyncEngine, scope: Scope, path: str, data: str, permission: str) -> None:
    path, permission = check_path(path), check_permission(permission)
    async with db.begin() as conn:
        await _check_quota(conn, scope, path, data)
        async with integrity_as_conflict(f"dotfile {path!r}"):
            await conn.execute(dotfiles.insert().values(id=uuid.uuid4(), path=path, data=data,
                                                        permission=permission, **scope.owner_values()))


async def list_or_get(db: AsyncEngine, scope: Scope, path: str | None) -> Any:
    """All dotfiles of the owner, or one (`path`) as a single object."""
    query = sa.select(dotfiles.c.path, dotfiles.c.permission, dotfiles.c.data).where(scope.condition())
    if path is not None:
        query = query.where(dotfiles.c.path == check_path(path))
    async with db.connect() as conn:
        rows = (await conn.execute(query.order_by(dotfiles.c.path))).all()
    items = [{"path": r.path, "permission": r.permission, "data": r.data} for r in rows]
    if path is None:
        return items
    if not items:
        raise ObjectNotFound(f"no dotfile {path!r}")
    return items[0]


async def update(db: AsyncEngine, scope: Scope, path: str, data: str, permission: str) -> None:
    path, permission = check_path(path), check_permission(permission)
    async with db.begin() as conn:
        await _check_quota(conn, scope, path, data)
        result = await conn.execute(dotfiles.update().where(scope.condition() & (dotfiles.c.path == path))
                                    .values(data=data, permission=permission))
        if result.rowcount == 0:
            raise ObjectNotFound(f"no dotfile {path!r}")


async def delete(db: AsyncEngine, scope: Scope, path: str) -> None:
    path = check_path(path)
    async with db.begin() as conn:
        result = await conn.execute(dotfiles.delete().where(scope.condition() & (dotfiles.c.path == path)))
        if result.rowcount == 0:
            raise ObjectNotFound(f"no dotfile {path!r}")
