"""Dotfiles written into new sessions' home directories: the user's own (default), a
project's (`group=`) or a domain's (`domain=` alone)."""

from __future__ import annotations

from typing import Any

from ..request import Request
from .base import BaseFunction, api_function

__all__ = ("Dotfile",)


def _target(owner_access_key: str | None, domain: str | None, group: str | None) -> tuple[str, dict[str, str]]:
    if group:
        return "/group-config/dotfiles", {"group": group, **({"domain": domain} if domain else {})}
    if domain:
        return "/domain-config/dotfiles", {"domain": domain}
    return "/user-config/dotfiles", ({"owner_access_key": owner_access_key} if owner_access_key else {})


class Dotfile(BaseFunction):

    def __init__(self, path: str, owner_access_key: str | None = None, group: str | None = None,
                 domain: str | None = None) -> None:
        self.path = path
        self.owner_access_key = owner_access_key
        self.group = group
        self.domain = domain

    @api_function
    @classmethod
    async def create(cls, data: str, path: str, permission: str, owner_access_key: str | None = None,
                     domain: str | None = None, group: str | None = None) -> Dotfile:
        endpoint, owner = _target(owner_access_key, domain, group)
        rqst = Request("POST", endpoint)
        rqst.set_json({"data": data, "path": path, "permission": permission, **owner})
        async with rqst.fetch():
            pass
        return cls(path, owner_access_key=owner_access_key, group=group, domain=domain)

    @api_function
    @classmethod
    async def list_dotfiles(cls, owner_access_key: str | None = None, domain: str | None = None,
                            group: str | None = None) -> list[dict[str, Any]]:
        endpoint, owner = _target(owner_access_key, domain, group)
        async with Request("GET", endpoint, params=owner).fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def get(self) -> dict[str, Any]:
        """`{"path", "permission", "data"}` of this dotfile."""
        endpoint, owner = _target(self.owner_access_key, self.domain, self.group)
        async with Request("GET", endpoint, params={"path": self.path, **owner}).fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def update(self, data: str, permission: str) -> Any:
        endpoint, owner = _target(self.owner_access_key, self.domain, self.group)
        rqst = Request("PATCH", endpoint)
        rqst.set_json({"data": data, "path": self.path, "permission": permission, **owner})
        async with rqst.fetch() as resp:
            return await resp.json()

    @api_function
    async def delete(self) -> Any:
        endpoint, owner = _target(self.owner_access_key, self.domain, self.group)
        async with Request("DELETE", endpoint, params={"path": self.path, **owner}).fetch() as resp:
            return await resp.json()
