"""Small helpers the entity services share: integrity errors as 409s, partial updates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidAPIParameters


@asynccontextmanager
async def integrity_as_conflict(what: str) -> AsyncIterator[None]:
    """Turn constraint violations into a 409 that says what clashed, not a 500."""
    try:
        yield
    except IntegrityError as e:
        detail = str(e.orig).splitlines()[0] if e.orig else str(e)
        code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
        if code == "23505":   # unique_violation
            raise Conflict(f"{what} already exists ({detail})") from None
        if code == "23503":   # foreign_key_violation
            raise InvalidAPIParameters(f"{what}: refers to something that does not exist or is still "
                                       f"referred to ({detail})") from None
        raise InvalidAPIParameters(f"{what}: {detail}") from None

