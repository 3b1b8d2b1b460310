"""Session templates (`/template/session`): reusable session-creation parameters."""

from __future__ import annotations

from typing import Any

from ..request import Request
from .base import BaseFunction, api_function

__all__ = ("SessionTemplate",)


class SessionTemplate(BaseFunction):

    def __init__(self, template_id: str, owner_access_key: str | None = None) -> None:
        self.template_id = template_id
        self.owner_access_key = owner_access_key

    @api_function
    @classmethod
    async def create(cls, template: str, domain_name: str | None = None, group_name: str | None = None,
                     owner_access_key: str | None = None) -> SessionTemplate:
        """Store a template (YAML or JSON text); several documents in a list give several ids."""
        rqst = Request("POST", "/template/session")
        rqst.set_json({"payload": template, "group_name": group_name, "domain_name": domain_name,
                       "owner_access_key": owner_access_key})
        async with rqst.fetch() as resp:
            created = await resp.json()
        return cls(", ".join(item["id"] for item in created), owner_access_key=owner_access_key)

    @api_function
    @classmethod
    async def list_templates(cls, list_all: bool = False) -> list[dict[str, Any]]:
        rqst = Request("GET", "/template/session")
        rqst.set_json({"all": list_all})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    def _params(self, **extra: str) -> dict[str, str]:
        params = dict(extra)
        if self.owner_access_key:
            params["owner_access_key"] = self.owner_access_key
        return params

    @api_function
    async def get(self, body_format: str = "yaml") -> str:
        """The template as YAML (default) or JSON text."""
        rqst = Request("GET", f"/template/session/{self.template_id}", params=self._params(format=body_format))
        async with rqst.fetch() as resp:
            return await resp.text()

    @api_function
    async def put(self, template: str) -> Any:
        rqst = Request("PUT", f"/template/session/{self.template_id}")
        rqst.set_json({"payload": template, **self._params()})
        async with rqst.fetch() as resp:
            return await resp.json()

    @api_function
    async def delete(self) -> Any:
        rqst = Request("DELETE", f"/template/session/{self.template_id}", params=self._params())
        async with rqst.fetch() as resp:
            return await resp.json()
