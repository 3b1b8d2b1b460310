"""Event bursts: bounded, retried production loses nothing even with a tiny connection pool."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import redis.asyncio as aioredis

from ai.backend.agent.events import BoundedEventProducer
from ai.backend.common.events import EventProducer
from ai.backend.common.events.kernel import KernelCreatingEvent


async def test_a_burst_through_a_small_pool(redis_addr: Any, test_id: str) -> None:
    stream = f"events-{test_id}"
    client = aioredis.Redis(host=redis_addr.host, port=redis_addr.port, max_connections=2)
    try:
        plain = EventProducer(client, stream_key=stream + "-plain")
        results = await asyncio.gather(
            *(plain.produce_event(KernelCreatingEvent(uuid.uuid4(), uuid.uuid4())) for _ in range(50)),
            return_exceptions=True,
        )
        assert any(isinstance(r, Exception) for r in results), "the unbounded producer should overrun the pool"
        bounded = BoundedEventProducer(client, stream_key=stream, concurrency=2)
        await asyncio.gather(*(bounded.produce_event(KernelCreatingEvent(uuid.uuid4(), uuid.uuid4()), source="a")
                               for _ in range(200)))
        assert await client.xlen(stream) == 200
    finally:
        await client.delete(stream, stream + "-plain", f"{stream}.broadcast")
        await client.aclose()
