"""Helpers for the vfolder tests: more users, and the client side of tus uploads and downloads."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.manager.models import association_groups_users, keypairs, users
from manager.rows import DEFAULT_GROUP

HOST = "local:volume1"


async def add_user(db: AsyncEngine, name: str, *, role: str = "user", domain: str = "default",
                   group: uuid.UUID | None = DEFAULT_GROUP, is_admin: bool = False) -> tuple[tuple[str, str], uuid.UUID]:
    """A new active user with one keypair (member of the default project); ((ak, sk), uuid)."""
    user_uuid = uuid.uuid4()
    ak = "AKIA" + secrets.token_hex(8).upper()
    sk = secrets.token_urlsafe(30)[:40]
    async with db.begin() as conn:
        await conn.execute(sa.insert(users).values(
            uuid=user_uuid, username=name, email=f"{name}@example.com", domain_name=domain, role=role,
            status="active", resource_policy="default", main_access_key=ak))
        await conn.execute(sa.insert(keypairs).values(
            user_id=f"{name}@example.com", access_key=ak, secret_key=sk, is_active=True, is_admin=is_admin,
            user=user_uuid, resource_policy="default"))
        if group is not None:
            await conn.execute(sa.insert(association_groups_users).values(user_id=user_uuid, group_id=group))
    return (ak, sk), user_uuid


async def tus_upload(url: str, token: str, data: bytes, *, chunk: int = 4 << 20) -> None:
    """PATCH the bytes at increasing offsets as the official client's tus uploader does."""
    offset = 0
    async with aiohttp.ClientSession() as s:
        while offset < len(data):
            piece = data[offset:offset + chunk]
            async with s.patch(url, params={"token": token}, data=piece, headers={
                "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }) as resp:
                assert resp.status == 204, await resp.text()
                offset = int(resp.headers["Upload-Offset"])


async def http_get(url: str, *, params: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, Any, bytes]:
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, params=params, headers=headers or {}) as resp:
            return resp.status, resp.headers, await resp.read()
