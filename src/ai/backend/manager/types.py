"""Who is calling: the authenticated keypair and its owner, with the privilege rules.

Privilege comes from the user's role, but only through an admin keypair: an admin or
superadmin calling with a keypair whose is_admin flag is off acts as a plain user. This lets
admins keep a low-privilege keypair for everyday work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .models.user import UserRole

LATEST_API_VERSION = (7, "20230615")
LATEST_API_VERSION_STR = "v7.20230615"
SUPPORTED_API_MAJORS = frozenset({4, 5, 6, 7})


@dataclass(frozen=True)
class Requester:
    access_key: str
    secret_key: str = field(repr=False)   # never in logs
    user_uuid: uuid.UUID
    email: str
    user_role: UserRole                 # the role stored for the user
    domain_name: str
    keypair_is_admin: bool
    resource_policy: str
    rate_limit: int

    @property
    def role(self) -> UserRole:
        """The effective role for this request (see the module docstring)."""
        if self.user_role in (UserRole.SUPERADMIN, UserRole.ADMIN) and not self.keypair_is_admin:
            return UserRole.USER
        return self.user_role

    @property
    def is_superadmin(self) -> bool:
        return self.role == UserRole.SUPERADMIN

    @property
    def is_admin(self) -> bool:
        """A domain admin or a superadmin."""
        return self.role in (UserRole.SUPERADMIN, UserRole.ADMIN)

    def can_manage_domain(self, domain_name: str | None) -> bool:
        return self.is_superadmin or (self.role == UserRole.ADMIN and domain_name == self.domain_name)


@dataclass(frozen=True)
class Owner:
    """The keypair a request acts for: the requester's own, or another one via owner_access_key."""

    access_key: str
    user_uuid: uuid.UUID
    email: str
    role: UserRole
    domain_name: str
    resource_policy: str
