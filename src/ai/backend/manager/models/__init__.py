"""The manager's tables (SQLAlchemy Core), one module per entity, on one shared metadata."""

from .agent import agents
from .base import EnumValueType, ResourceSlotColumn, metadata
from .domain import domains
from .dotfile import DotfileScope, dotfiles
from .error_log import ErrorLogSeverity, error_logs
from .group import ProjectType, association_groups_users, groups
from .image import ImageType, container_registries, image_aliases, images
from .kernel import kernels
from .keypair import keypairs
from .resource_policy import (
    DefaultForUnspecified,
    keypair_resource_policies,
    project_resource_policies,
    user_resource_policies,
)
from .resource_preset import resource_presets
from .scaling_group import (
    scaling_groups,
    sgroups_for_domains,
    sgroups_for_groups,
    sgroups_for_keypairs,
)
from .session import session_dependencies, sessions
from .session_template import TemplateType, session_templates
from .user import UserRole, UserStatus, users
from .vfolder import (
    VFolderHostPermission,
    VFolderInvitationState,
    VFolderOwnershipType,
    VFolderPermission,
    VFolderStatus,
    VFolderUsageMode,
    vfolder_invitations,
    vfolder_permissions,
    vfolders,
)

__all__ = [
    "DefaultForUnspecified",
    "DotfileScope",
    "EnumValueType",
    "ErrorLogSeverity",
    "ImageType",
    "ProjectType",
    "ResourceSlotColumn",
    "TemplateType",
    "UserRole",
    "UserStatus",
    "VFolderHostPermission",
    "VFolderInvitationState",
    "VFolderOwnershipType",
    "VFolderPermission",
    "VFolderStatus",
    "VFolderUsageMode",
    "agents",
    "association_groups_users",
    "container_registries",
    "domains",
    "dotfiles",
    "error_logs",
    "groups",
    "image_aliases",
    "images",
    "kernels",
    "keypair_resource_policies",
    "keypairs",
    "metadata",
    "project_resource_policies",
    "resource_presets",
    "scaling_groups",
    "session_dependencies",
    "session_templates",
    "sessions",
    "sgroups_for_domains",
    "sgroups_for_groups",
    "sgroups_for_keypairs",
    "user_resource_policies",
    "users",
    "vfolder_invitations",
    "vfolder_permissions",
    "vfolders",
]
