"""Database engine creation and connection helpers (SQLAlchemy async + asyncpg)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> str:
    """JSON with the value types our columns carry (Decimal amounts stay exact strings)."""
    return json.dumps(obj, default=_json_default, ensure_ascii=False)


def url_from_config(db: Mapping[str, Any], *, driver: str = "asyncpg") -> str:
    """postgresql+asyncpg://user:password@host:port/name from the [db] section of manager.toml."""
    addr = db["addr"]
    user = quote(str(db.get("user") or "postgres"), safe="")
    password = db.get("password") or ""
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return f"{scheme}://{auth}@{addr.host}:{addr.port}/{quote(str(db['name']), safe='')}"


def create_engine(url: str, *, pool_size: int = 8, max_overflow: int = 16, echo: bool = False) -> AsyncEngine:
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        echo=echo,
        json_serializer=dumps,
        json_deserializer=json.loads,
    )
