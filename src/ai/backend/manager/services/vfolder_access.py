"""Who may see and touch which vfolder, and with what permission.

A user reaches a vfolder in one of three ways:

- they own it (a user vfolder whose `user` is them): full access;
- it was shared with them by invitation or by an admin's share (a vfolder_permissions row):
  the permission of that row;
- it belongs to a project they are a member of: the vfolder's innate permission, unless a
  vfolder_permissions row for them overrides it. Admins of the project's domain (and
  superadmins) manage project vfolders as owners even without membership.

Nothing else is visible: a vfolder a user cannot reach is "not found", never "forbidden".
Requests name a vfolder by name or by id; a name several reachable vfolders share is
ambiguous unless exactly one of them is the caller's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.storage_types import QuotaScopeID, VFolderID

from ..errors import Conflict, Forbidden, InvalidAPIParameters, VFolderBusy, VFolderNotFound
from ..models import (
    UserRole,
    VFolderOwnershipType,
    VFolderPermission,
    VFolderStatus,
    association_groups_users,
    groups,
    users,
    vfolder_permissions,
    vfolders,
)
from ..types import Requester

_PERM_RANK = {VFolderPermission.READ_ONLY: 1, VFolderPermission.READ_WRITE: 2, VFolderPermission.RW_DELETE: 3}

READABLE_STATUSES = frozenset({VFolderStatus.READY, VFolderStatus.PERFORMING, VFolderStatus.CLONING,
                               VFolderStatus.MOUNTED})
UPDATABLE_STATUSES = frozenset({VFolderStatus.READY, VFolderStatus.MOUNTED})

_NAME_RE = re.compile(r"^[\w.-]{1,64}$")
# Names that would shadow what the kernel image keeps in /home/work.
RESERVED_NAMES = frozenset({".", "..", ".terminfo", ".jupyter", ".tmux.conf", ".bashrc", ".profile"})


def check_name(name: str, what: str = "name") -> str:
    """A vfolder name: 1-64 letters, digits, '_', '-' or '.', and not a reserved one."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidAPIParameters(f"invalid vfolder {what} {name!r}: use 1-64 letters, digits, '_', '-' or '.'")
    if name in RESERVED_NAMES:
        raise InvalidAPIParameters(f"the vfolder {what} {name!r} is reserved")
    return name


@dataclass(frozen=True)
class Accessor:
    """The user a vfolder operation acts for (the requester, or a session's owner)."""

    user_uuid: uuid.UUID
    email: str
    domain_name: str
    role: UserRole
    access_key: str
    keypair_policy: str

    @classmethod
    def of(cls, r: Requester) -> Accessor:
        return cls(r.user_uuid, r.email, r.domain_name, r.role, r.access_key, r.resource_policy)

    @property
    def is_superadmin(self) -> bool:
        return self.role == UserRole.SUPERADMIN

    @property
    def is_admin(self) -> bool:
        return self.role in (UserRole.SUPERADMIN, UserRole.ADMIN)

    def administers(self, domain_name: str | None) -> bool:
        return self.is_superadmin or (self.role == UserRole.ADMIN and domain_name == self.domain_name)


@dataclass(frozen=True)
class VFolderAccess:
    """A vfolder row as one user reaches it."""

    row: Any
    permission: VFolderPermission   # the effective permission of this user
    is_owner: bool                  # owns it, or administers the project it belongs to

    @property
    def id(self) -> uuid.UUID:
        return self.row.id  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self.row.name  # type: ignore[no-any-return]

    @property
    def host(self) -> str:
        return self.row.host  # type: ignore[no-any-return]

    @property
    def is_project(self) -> bool:
        return self.row.ownership_type == VFolderOwnershipType.GROUP  # type: ignore[no-any-return]

    @property
    def vfid(self) -> VFolderID:
        return vfid_of(self.row)

    def allows(self, needed: VFolderPermission) -> bool:
        return _PERM_RANK[self.permission] >= _PERM_RANK[needed]

    def require(self, needed: VFolderPermission) -> None:
        if not self.allows(needed):
            raise Forbidden(f"vfolder {self.name!r} is shared with you as {self.permission.value!r}; "
                            f"this needs {needed.value!r}")

    def require_owner(self, what: str) -> None:
        if not self.is_owner:
            raise Forbidden(f"only the owner of vfolder {self.name!r} can {what}")

    def require_status(self, allowed: Iterable[VFolderStatus] = UPDATABLE_STATUSES) -> None:
        if self.row.status not in set(allowed):
            raise VFolderBusy(f"vfolder {self.name!r} is {self.row.status.value}; try again when it is ready")


def quota_scope_of(row: Any) -> QuotaScopeID:
    """The quota scope a vfolder is accounted to (stored at creation; owners may change)."""
    if row.quota_scope_id:
        return QuotaScopeID.parse(row.quota_scope_id)
    if row.ownership_type == VFolderOwnershipType.GROUP:
        return QuotaScopeID.parse(f"project:{row.group}")
    return QuotaScopeID.parse(f"user:{row.user}")


def vfid_of(row: Any) -> VFolderID:
    return VFolderID(quota_scope_of(row), row.id)


def as_folder_id(value: Any) -> uuid.UUID | None:
    """A vfolder id given as a UUID in any common spelling, or None if it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- queries ----------------------------------------------------------------------------------

def member_groups(user_uuid: uuid.UUID) -> sa.Select[Any]:
    return (sa.select(association_groups_users.c.group_id)
            .select_from(association_groups_users.join(groups, groups.c.id == association_groups_users.c.group_id))
            .where((association_groups_users.c.user_id == user_uuid) & groups.c.is_active))


# The aliases vfolder_select() joins (filters may refer to their columns).
VP = vfolder_permissions.alias("vp")
OWNER = users.alias("owner")


def vfolder_select(share_of: uuid.UUID | None = None) -> sa.Select[Any]:
    """vfolders with the owner's email, the project's name and domain, and the share row of
    user `share_of` (None: no share)."""
    vp_on = (VP.c.vfolder == vfolders.c.id) & (VP.c.user == share_of) if share_of else sa.false()
    return (
        sa.select(vfolders, VP.c.permission.label("shared_permission"), OWNER.c.email.label("owner_email"),
                  groups.c.name.label("group_name"), groups.c.domain_name.label("group_domain"))
        .select_from(
            vfolders.outerjoin(VP, vp_on)
            .outerjoin(OWNER, OWNER.c.uuid == vfolders.c.user)
            .outerjoin(groups, groups.c.id == vfolders.c.group)
        )
    )


def reach_condition(acc: Accessor, *, with_admin: bool = True) -> sa.ColumnElement[bool]:
    """What the accessor reaches (for a vfolder_select(share_of=acc.user_uuid))."""
    reach = ((vfolders.c.user == acc.user_uuid)
             | VP.c.id.is_not(None)
             | vfolders.c.group.in_(member_groups(acc.user_uuid)))
    if with_admin and acc.is_superadmin:
        reach = reach | vfolders.c.group.is_not(None)
    elif with_admin and acc.is_admin:
        reach = reach | (groups.c.domain_name == acc.domain_name)
    return reach


def accessible_select(acc: Accessor, *, with_admin: bool = True) -> sa.Select[Any]:
    """vfolders the accessor reaches, with their share row (if any) and owner/project names.

    `with_admin` adds the project vfolders the accessor administers without membership.
    """
    return vfolder_select(acc.user_uuid).where(reach_condition(acc, with_admin=with_admin))


def access_of(acc: Accessor, row: Any) -> VFolderAccess:
    """The effective permission of `acc` on a row of accessible_select()."""
    if row.ownership_type == VFolderOwnershipType.USER:
        if row.user == acc.user_uuid:
            return VFolderAccess(row, VFolderPermission.RW_DELETE, True)
        return VFolderAccess(row, row.shared_permission or VFolderPermission.READ_ONLY, False)
    if acc.administers(row.group_domain):
        return VFolderAccess(row, VFolderPermission.RW_DELETE, True)
    return VFolderAccess(row, row.shared_permission or row.permission, False)


async def list_accessible(conn: AsyncConnection, acc: Accessor, *, where: sa.ColumnElement[bool] | None = None,
                          with_admin: bool = False) -> list[VFolderAccess]:
    query = accessible_select(acc, with_admin=with_admin)
    if where is not None:
        query = query.where(where)
    rows = (await conn.execute(query.order_by(vfolders.c.created_at))).all()
    return [access_of(acc, r) for r in rows]


async def resolve(conn: AsyncConnection, acc: Accessor, name_or_id: str, *,
                  for_update: bool = False) -> VFolderAccess:
    """The vfolder `name_or_id` names for this accessor; VFolderNotFound if it reaches none."""
    folder_id = as_folder_id(name_or_id)
    cond = vfolders.c.name == name_or_id
    if folder_id is not None:
        cond = cond | (vfolders.c.id == folder_id)
    query = accessible_select(acc).where(cond)
    if for_update:
        query = query.with_for_update(of=vfolders)
    rows = (await conn.execute(query)).all()
    matches = [access_of(acc, r) for r in rows]
    by_id = [m for m in matches if m.id == folder_id]
    if by_id:
        return by_id[0]
    if not matches:
        raise VFolderNotFound(f"no vfolder named {name_or_id!r} is accessible to you")
    if len(matches) == 1:
        return matches[0]
    own = [m for m in matches if m.row.user == acc.user_uuid]
    if len(own) == 1:
        return own[0]
    ids = ", ".join(str(m.id) for m in matches)
    raise Conflict(f"several vfolders named {name_or_id!r} are accessible to you ({ids}); use the id instead")


async def resolve_by_id(conn: AsyncConnection, acc: Accessor, folder_id: uuid.UUID, *,
                        for_update: bool = False) -> VFolderAccess:
    query = accessible_select(acc).where(vfolders.c.id == folder_id)
    if for_update:
        query = query.with_for_update(of=vfolders)
    row = (await conn.execute(query)).first()
    if row is None:
        raise VFolderNotFound(f"no vfolder with id {folder_id} is accessible to you")
    return access_of(acc, row)


async def resolve_privileged(conn: AsyncConnection, acc: Accessor, folder_id: uuid.UUID, *,
                             for_update: bool = False) -> VFolderAccess:
    """By id: superadmins reach every vfolder (as its owner would); others what they reach."""
    if not acc.is_superadmin:
        return await resolve_by_id(conn, acc, folder_id, for_update=for_update)
    query = vfolder_select(acc.user_uuid).where(vfolders.c.id == folder_id)
    if for_update:
        query = query.with_for_update(of=vfolders)
    row = (await conn.execute(query)).first()
    if row is None:
        raise VFolderNotFound(f"no vfolder with id {folder_id}")
    return VFolderAccess(row, VFolderPermission.RW_DELETE, True)


async def check_name_free(conn: AsyncConnection, acc: Accessor, name: str, *,
                          exclude: Sequence[uuid.UUID] = ()) -> None:
    """Refuse a name any vfolder the user already reaches has (names must resolve uniquely)."""
    cond = vfolders.c.name == name
    if exclude:
        cond = cond & vfolders.c.id.not_in(list(exclude))
    taken = await list_accessible(conn, acc, where=cond)
    if taken:
        raise Conflict(f"a vfolder named {name!r} already exists among your vfolders "
                       f"({', '.join(str(t.id) for t in taken)})")


async def check_project_name_free(conn: AsyncConnection, group_id: uuid.UUID, name: str) -> None:
    row = (await conn.execute(
        sa.select(vfolders.c.id).where((vfolders.c.group == group_id) & (vfolders.c.name == name))
    )).first()
    if row is not None:
        raise Conflict(f"the project already has a vfolder named {name!r} ({row.id})")


async def lock_names(conn: AsyncConnection, owner_id: uuid.UUID) -> None:
    """Serialise name checks and inserts for one owner (user or project) until commit."""
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"vfolder-names:{owner_id}"))))
