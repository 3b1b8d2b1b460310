"""Backend.AI client SDK: `Session`/`AsyncSession` and the function classes they expose."""

from __future__ import annotations

__version__ = "23.09.0"

from .session import AsyncSession, Session

__all__ = ("AsyncSession", "Session", "__version__")
