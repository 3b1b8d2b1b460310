"""Virtual folders, per-user sharing permissions, and invitations (the storage issue adds
the API; the tables live here so the whole schema is one migration history)."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from .base import (
    EnumValueType,
    IDColumn,
    created_at_column,
    empty_json_list,
    metadata,
    modified_at_column,
)


class VFolderUsageMode(enum.StrEnum):
    GENERAL = "general"
    MODEL = "model"
    DATA = "data"


class VFolderPermission(enum.StrEnum):
    READ_ONLY = "ro"
    READ_WRITE = "rw"
    RW_DELETE = "wd"


class VFolderOwnershipType(enum.StrEnum):
    USER = "user"
    GROUP = "group"


class VFolderStatus(enum.StrEnum):
    READY = "ready"
    PERFORMING = "performing"
    CLONING = "cloning"
    MOUNTED = "mounted"
    ERROR = "error"
    DELETE_PENDING = "delete-pending"
    DELETE_ONGOING = "delete-ongoing"
    DELETE_COMPLETE = "delete-complete"
    DELETE_ERROR = "delete-error"


class VFolderInvitationState(enum.StrEnum):
    PENDING = "pending"
    CANCELED = "canceled"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


vfolders = sa.Table(
    "vfolders", metadata,
    IDColumn(),
    sa.Column("host", sa.String(128), nullable=False),        # "proxy:volume"
    sa.Column("quota_scope_id", sa.String(64)),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("usage_mode", EnumValueType(VFolderUsageMode), nullable=False,
              server_default=VFolderUsageMode.GENERAL.value),
    sa.Column("permission", EnumValueType(VFolderPermission), nullable=False,
              server_default=VFolderPermission.READ_WRITE.value),
    sa.Column("max_files", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_size", sa.BigInteger),                     # bytes; NULL means unlimited
    sa.Column("num_files", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cur_size", sa.BigInteger, nullable=False, server_default="0"),
    created_at_column(),
    sa.Column("last_used", sa.DateTime(timezone=True)),
    sa.Column("creator", sa.String(128)),                     # the creator's email
    sa.Column("unmanaged_path", sa.String(512)),
    sa.Column("ownership_type", EnumValueType(VFolderOwnershipType), nullable=False,
              server_default=VFolderOwnershipType.USER.value, index=True),
    sa.Column("user", sa.Uuid(), sa.ForeignKey("users.uuid", ondelete="CASCADE"), nullable=True),
    sa.Column("group", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=True),
    sa.Column("cloneable", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", EnumValueType(VFolderStatus), nullable=False,
              server_default=VFolderStatus.READY.value, index=True),
    sa.Column("status_changed", sa.DateTime(timezone=True)),
    sa.Column("status_history", pg.JSONB, nullable=False, server_default=empty_json_list()),
    sa.CheckConstraint(
        '(ownership_type = \'user\' AND "user" IS NOT NULL AND "group" IS NULL) OR '
        '(ownership_type = \'group\' AND "group" IS NOT NULL AND "user" IS NULL)',
        name="ownership_type_match_with_user_or_group",
    ),
    sa.Index("ix_vfolders_user", "user"),
    sa.Index("ix_vfolders_group", "group"),
)

vfolder_permissions = sa.Table(
    "vfolder_permissions", metadata,
    IDColumn(),
    sa.Column("permission", EnumValueType(VFolderPermission), nullable=False,
              server_default=VFolderPermission.READ_WRITE.value),
    sa.Column("vfolder", sa.Uuid(),
              sa.ForeignKey("vfolders.id", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.Column("user", sa.Uuid(),
              sa.ForeignKey("users.uuid", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.UniqueConstraint("vfolder", "user"),
)

vfolder_invitations = sa.Table(
    "vfolder_invitations", metadata,
    IDColumn(),
    sa.Column("permission", EnumValueType(VFolderPermission), nullable=False,
              server_default=VFolderPermission.READ_WRITE.value),
    sa.Column("inviter", sa.String(256), nullable=False),     # email
    sa.Column("invitee", sa.String(256), nullable=False),     # email
    sa.Column("state", EnumValueType(VFolderInvitationState), nullable=False,
              server_default=VFolderInvitationState.PENDING.value),
    created_at_column(),
    modified_at_column(),
    sa.Column("vfolder", sa.Uuid(),
              sa.ForeignKey("vfolders.id", onupdate="CASCADE", ondelete="CASCADE"), nullable=False),
    sa.Index("ix_vfolder_invitations_invitee_state", "invitee", "state"),
)


class VFolderHostPermission(enum.StrEnum):
    """What a domain/project/keypair may do on a storage host (allowed_vfolder_hosts values)."""

    CREATE = "create-vfolder"
    MODIFY = "modify-vfolder"
    DELETE = "delete-vfolder"
    MOUNT_IN_SESSION = "mount-in-session"
    UPLOAD_FILE = "upload-file"
    DOWNLOAD_FILE = "download-file"
    INVITE_OTHERS = "invite-others"
    SET_USER_PERM = "set-user-specific-permission"
