"""Sharing vfolders: invitations for user vfolders, direct shares of project vfolders, leaving.

- An owner invites users of their domain to a user vfolder with ro/rw/wd; an invitee who
  accepts gets a vfolder_permissions row with that permission. Dot-named vfolders are
  personal (auto-mounted) and cannot be shared.
- Admins share a project vfolder with members of its project directly, overriding the
  vfolder's innate permission for them; unshare removes the override.
- A user leaves a vfolder shared with them (not their own, not a project's).
- Owners list and change (or revoke) the shares of their vfolders (`/folders/_/shared`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..context import RootContext
from ..errors import Forbidden, InvalidAPIParameters, ObjectNotFound, VFolderNotFound
from ..models import (
    UserStatus,
    VFolderHostPermission,
    VFolderInvitationState,
    VFolderOwnershipType,
    VFolderPermission,
    association_groups_users,
    groups,
    users,
    vfolder_invitations,
    vfolder_permissions,
    vfolders,
)
from .vfolder_access import Accessor, VFolderAccess, check_name_free, resolve
from .vfolder_hosts import require_host_permission

_PENDING = VFolderInvitationState.PENDING


def _invitation_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id), "inviter": row.inviter, "invitee": row.invitee, "perm": row.permission.value,
        "state": row.state.value, "created_at": str(row.created_at), "modified_at": str(row.modified_at),
        "vfolder_id": str(row.vfolder), "vfolder_name": row.vfolder_name,
    }


def _invitations_select() -> sa.Select[Any]:
    return (sa.select(vfolder_invitations, vfolders.c.name.label("vfolder_name"))
            .select_from(vfolder_invitations.join(vfolders, vfolders.c.id == vfolder_invitations.c.vfolder)))


async def _active_users(conn: AsyncConnection, emails: Sequence[str], domain_name: str | None) -> dict[str, Any]:
    query = sa.select(users.c.uuid, users.c.email, users.c.domain_name).where(
        users.c.email.in_(list(emails)) & (users.c.status == UserStatus.ACTIVE))
    if domain_name is not None:
        query = query.where(users.c.domain_name == domain_name)
    return {r.email: r for r in (await conn.execute(query)).all()}


def _check_sharable(a: VFolderAccess) -> None:
    if a.name.startswith("."):
        raise Forbidden(f"dot-named vfolders like {a.name!r} are personal and cannot be shared")


# --- invitations --------------------------------------------------------------------------------

async def invite(ctx: RootContext, acc: Accessor, name: str, perm: VFolderPermission,
                 emails: Sequence[str]) -> list[str]:
    """Invite users (by email, same domain) to the caller's user vfolder; returns who was invited."""
    if not emails:
        raise InvalidAPIParameters("give at least one email to invite")
    async with ctx.db.begin() as conn:
        a = await resolve(conn, acc, name)
        if a.is_project or a.row.user != acc.user_uuid:
            raise Forbidden(f"only the owner of user vfolder {a.name!r} can invite others "
                            "(project vfolders are shared with `share`)")
        _check_sharable(a)
        a.require_status()
        await require_host_permission(conn, acc, a.host, VFolderHostPermission.INVITE_OTHERS)
        found = await _active_users(conn, emails, acc.domain_name)
        unknown = sorted(set(emails) - set(found))
        if unknown:
            raise ObjectNotFound(f"no active user in domain {acc.domain_name!r} with email {', '.join(unknown)}")
        shared: set[uuid.UUID] = set((await conn.execute(sa.select(vfolder_permissions.c.user).where(
            vfolder_permissions.c.vfolder == a.id))).scalars().all())
        pending: set[str] = set((await conn.execute(sa.select(vfolder_invitations.c.invitee).where(
            (vfolder_invitations.c.vfolder == a.id) & (vfolder_invitations.c.state == _PENDING)))).scalars().all())
        invited: list[str] = []
        for email, user in found.items():
            if user.uuid == acc.user_uuid or user.uuid in shared or email in pending:
                continue
            await conn.execute(sa.insert(vfolder_invitations).values(
                permission=perm, inviter=acc.email, invitee=email, state=_PENDING, vfolder=a.id))
            invited.append(email)
    return invited


async def received_invitations(ctx: RootContext, acc: Accessor) -> list[dict[str, Any]]:
    async with ctx.db.connect() as conn:
        rows = (await conn.execute(_invitations_select().where(
            (vfolder_invitations.c.invitee == acc.email) & (vfolder_invitations.c.state == _PENDING))
            .order_by(vfolder_invitations.c.created_at))).all()
    return [_invitation_json(r) for r in rows]


async def sent_invitations(ctx: RootContext, acc: Accessor) -> list[dict[str, Any]]:
    async with ctx.db.connect() as conn:
        rows = (await conn.execute(_invitations_select().where(
            (vfolder_invitations.c.inviter == acc.email) & (vfolder_invitations.c.state == _PENDING))
            .order_by(vfolder_invitations.c.created_at))).all()
    return [_invitation_json(r) for r in rows]


async def _pending_invitation(conn: AsyncConnection, inv_id: uuid.UUID) -> Any:
    row = (await conn.execute(_invitations_select().where(
        (vfolder_invitations.c.id == inv_id) & (vfolder_invitations.c.state == _PENDING))
        .with_for_update(of=vfolder_invitations))).first()
    if row is None:
        raise ObjectNotFound(f"no pending vfolder invitation {inv_id}")
    return row


async def accept_invitation(ctx: RootContext, acc: Accessor, inv_id: uuid.UUID) -> None:
    async with ctx.db.begin() as conn:
        inv = await _pending_invitation(conn, inv_id)
        if inv.invitee != acc.email:
            raise ObjectNotFound(f"no pending vfolder invitation {inv_id}")
        await check_name_free(conn, acc, inv.vfolder_name)
        await conn.execute(sa.insert(vfolder_permissions).values(
            permission=inv.permission, vfolder=inv.vfolder, user=acc.user_uuid))
        await conn.execute(sa.update(vfolder_invitations).where(vfolder_invitations.c.id == inv_id)
                           .values(state=VFolderInvitationState.ACCEPTED))


async def delete_invitation(ctx: RootContext, acc: Accessor, inv_id: uuid.UUID) -> None:
    """The inviter cancels, the invitee rejects."""
    async with ctx.db.begin() as conn:
        inv = await _pending_invitation(conn, inv_id)
        if acc.email == inv.inviter:
            state = VFolderInvitationState.CANCELED
        elif acc.email == inv.invitee:
            state = VFolderInvitationState.REJECTED
        else:
            raise ObjectNotFound(f"no pending vfolder invitation {inv_id}")
        await conn.execute(sa.update(vfolder_invitations).where(vfolder_invitations.c.id == inv_id)
                           .values(state=state))


async def update_invitation(ctx: RootContext, acc: Accessor, inv_id: uuid.UUID, perm: VFolderPermission) -> None:
    async with ctx.db.begin() as conn:
        inv = await _pending_invitation(conn, inv_id)
        if inv.inviter != acc.email:
            raise ObjectNotFound(f"no pending vfolder invitation {inv_id} sent by you")
        host: str = (await conn.execute(sa.select(vfolders.c.host).where(vfolders.c.id == inv.vfolder))).scalar_one()
        await require_host_permission(conn, acc, host, VFolderHostPermission.SET_USER_PERM)
        await conn.execute(sa.update(vfolder_invitations).where(vfolder_invitations.c.id == inv_id)
                           .values(permission=perm))


# --- project shares -----------------------------------------------------------------------------

async def _project_folder(conn: AsyncConnection, acc: Accessor, name: str) -> VFolderAccess:
    a = await resolve(conn, acc, name, for_update=True)
    if not a.is_project:
        raise InvalidAPIParameters(f"vfolder {a.name!r} is not a project vfolder; user vfolders are shared "
                                   "by invitation")
    if not acc.administers(a.row.group_domain):
        raise Forbidden(f"only admins of the project's domain can share vfolder {a.name!r}")
    a.require_status()
    return a


async def share(ctx: RootContext, acc: Accessor, name: str, perm: VFolderPermission,
                emails: Sequence[str]) -> list[str]:
    if not emails:
        raise InvalidAPIParameters("give at least one email to share with")
    async with ctx.db.begin() as conn:
        a = await _project_folder(conn, acc, name)
        await require_host_permission(conn, acc, a.host, VFolderHostPermission.INVITE_OTHERS, group_id=a.row.group)
        members = {r.email: r.uuid for r in (await conn.execute(
            sa.select(users.c.uuid, users.c.email)
            .select_from(users.join(association_groups_users, association_groups_users.c.user_id == users.c.uuid))
            .where(users.c.email.in_(list(emails)) & (association_groups_users.c.group_id == a.row.group))
        )).all()}
        outsiders = sorted(set(emails) - set(members))
        if outsiders:
            raise InvalidAPIParameters(f"not members of project {a.row.group_name!r}: {', '.join(outsiders)}")
        for user_uuid in members.values():
            existing = (await conn.execute(sa.select(vfolder_permissions.c.id).where(
                (vfolder_permissions.c.vfolder == a.id) & (vfolder_permissions.c.user == user_uuid)))).first()
            if existing is None:
                await conn.execute(sa.insert(vfolder_permissions).values(permission=perm, vfolder=a.id, user=user_uuid))
            else:
                await conn.execute(sa.update(vfolder_permissions).where(vfolder_permissions.c.id == existing.id)
                                   .values(permission=perm))
    return sorted(members)


async def unshare(ctx: RootContext, acc: Accessor, name: str, emails: Sequence[str]) -> list[str]:
    if not emails:
        raise InvalidAPIParameters("give at least one email to unshare from")
    async with ctx.db.begin() as conn:
        a = await _project_folder(conn, acc, name)
        await require_host_permission(conn, acc, a.host, VFolderHostPermission.INVITE_OTHERS, group_id=a.row.group)
        found = await _active_users(conn, emails, None)
        unknown = sorted(set(emails) - set(found))
        if unknown:
            raise ObjectNotFound(f"no user with email {', '.join(unknown)}")
        await conn.execute(sa.delete(vfolder_permissions).where(
            (vfolder_permissions.c.vfolder == a.id)
            & vfolder_permissions.c.user.in_([u.uuid for u in found.values()])))
    return sorted(found)


async def leave(ctx: RootContext, acc: Accessor, name: str, shared_user_uuid: uuid.UUID | None) -> None:
    async with ctx.db.begin() as conn:
        a = await resolve(conn, acc, name)
        if a.is_project:
            raise InvalidAPIParameters("you cannot leave a project vfolder")
        user = acc.user_uuid
        if shared_user_uuid is not None and shared_user_uuid != acc.user_uuid:
            if not acc.is_superadmin:
                raise Forbidden("only superadmins can remove another user from a shared vfolder")
            user = shared_user_uuid
        elif a.is_owner:
            raise InvalidAPIParameters("you cannot leave a vfolder you own; delete it instead")
        result = await conn.execute(sa.delete(vfolder_permissions).where(
            (vfolder_permissions.c.vfolder == a.id) & (vfolder_permissions.c.user == user)))
        if result.rowcount == 0:
            raise ObjectNotFound(f"vfolder {a.name!r} is not shared with user {user}")


# --- shares of one's own vfolders ----------------------------------------------------------------

def _managed_condition(acc: Accessor) -> sa.ColumnElement[bool]:
    """vfolders whose shares the accessor manages: their own; project ones they administer."""
    if acc.is_superadmin:
        return sa.true()
    cond: sa.ColumnElement[bool] = vfolders.c.user == acc.user_uuid
    if acc.is_admin:
        cond = cond | (groups.c.domain_name == acc.domain_name)
    return cond


async def list_shared(ctx: RootContext, acc: Accessor, vfolder_id: uuid.UUID | None) -> list[dict[str, Any]]:
    query = (
        sa.select(vfolder_permissions, vfolders.c.name, vfolders.c.group, vfolders.c.status,
                  vfolders.c.user.label("owner"), users.c.email)
        .select_from(vfolder_permissions.join(vfolders, vfolders.c.id == vfolder_permissions.c.vfolder)
                     .join(users, users.c.uuid == vfolder_permissions.c.user)
                     .outerjoin(groups, groups.c.id == vfolders.c.group))
        .where(_managed_condition(acc))
    )
    if vfolder_id is not None:
        query = query.where(vfolders.c.id == vfolder_id)
    async with ctx.db.connect() as conn:
        rows = (await conn.execute(query.order_by(vfolders.c.name, users.c.email))).all()
    return [{
        "vfolder_id": str(r.vfolder), "vfolder_name": r.name, "status": r.status.value,
        "owner": str(r.group or r.owner), "type": "project" if r.group else "user",
        "shared_to": {"uuid": str(r.user), "email": r.email}, "perm": r.permission.value,
    } for r in rows]


async def update_shared(ctx: RootContext, acc: Accessor, vfolder_id: uuid.UUID, user_uuid: uuid.UUID,
                        perm: VFolderPermission | None) -> None:
    """Change a user's share of a vfolder the caller manages; `perm` None revokes it."""
    async with ctx.db.begin() as conn:
        row = (await conn.execute(
            sa.select(vfolders.c.id, vfolders.c.host, vfolders.c.group, vfolders.c.ownership_type)
            .select_from(vfolders.outerjoin(groups, groups.c.id == vfolders.c.group))
            .where((vfolders.c.id == vfolder_id) & _managed_condition(acc))
        )).first()
        if row is None:
            raise VFolderNotFound(f"no vfolder {vfolder_id} whose shares you manage")
        group_id = row.group if row.ownership_type == VFolderOwnershipType.GROUP else None
        await require_host_permission(conn, acc, row.host, VFolderHostPermission.SET_USER_PERM, group_id=group_id)
        cond = (vfolder_permissions.c.vfolder == vfolder_id) & (vfolder_permissions.c.user == user_uuid)
        if perm is None:
            result = await conn.execute(sa.delete(vfolder_permissions).where(cond))
        else:
            result = await conn.execute(sa.update(vfolder_permissions).where(cond).values(permission=perm))
        if result.rowcount == 0:
            raise ObjectNotFound(f"vfolder {vfolder_id} is not shared with user {user_uuid}")

