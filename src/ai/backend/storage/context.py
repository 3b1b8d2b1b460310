"""What the API handlers share while the proxy runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .tokens import TokenCodec
from .tus import UploadSessions
from .volumes.pool import VolumePool

CTX_KEY: web.AppKey[RootContext] = web.AppKey("storage_ctx")


@dataclass
class RootContext:
    node_id: str
    proxy_name: str
    volumes: VolumePool
    tokens: TokenCodec
    uploads: UploadSessions
    manager_secret: str
    scandir_limit: int
    config: dict[str, Any]


def ctx_of(request: web.Request) -> RootContext:
    return request.app[CTX_KEY]
