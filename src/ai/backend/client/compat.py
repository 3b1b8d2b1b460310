"""Small helpers for running coroutines from synchronous code."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def asyncio_run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` that also works when called from a thread without a loop."""
    return asyncio.run(coro)


def current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()
