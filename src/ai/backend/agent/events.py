"""Event production that survives bursts: bounded concurrency and retries.

A busy agent (or a fleet of simulated ones sharing a Redis client) may emit hundreds of
events at once; a Redis connection pool has a limit, and a lost lifecycle event delays the
manager. So sends are funnelled through a semaphore and retried with backoff on connection
errors before giving up (the heartbeat's kernel list still lets the manager reconcile).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ai.backend.common.events import AbstractEvent, EventProducer

log = logging.getLogger(__name__)


class BoundedEventProducer(EventProducer):
    def __init__(self, *args: Any, concurrency: int = 32, attempts: int = 5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sem = asyncio.Semaphore(concurrency)
        self.attempts = attempts

    async def produce_event(self, event: AbstractEvent, *, source: str = "manager") -> None:
        delay = 0.05
        for attempt in range(1, self.attempts + 1):
            try:
                async with self._sem:
                    await super().produce_event(event, source=source)
                return
            except (RedisConnectionError, RedisTimeoutError, OSError) as e:
                if attempt == self.attempts:
                    raise
                log.debug("producing %s failed (%r); retry %d", event.name, e, attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
