"""Producing and dispatching events over Redis.

Anycast events go to one stream. Each service type reads it through its own consumer group,
so every group sees each event once and exactly one member handles it. A message is
acknowledged only after its handlers succeed; otherwise it stays pending, and once it has been
idle for `claim_idle` seconds any member of the group (the same process, or another one if
this one died) claims and retries it. After `max_deliveries` attempts it is moved to a
dead-letter stream so one poison message cannot loop forever.

Broadcast events go to a pub/sub channel: every subscriber that is connected sees them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from .. import msgpack
from .base import AbstractEvent, EventDelivery

log = logging.getLogger(__name__)

EventHandler = Callable[[Any, str, Any], Awaitable[None]]

DEFAULT_STREAM = "events"
DEFAULT_CHANNEL = "events.broadcast"


def _encode(event: AbstractEvent, source: str) -> dict[bytes, bytes]:
    return {
        b"name": event.name.encode(),
        b"source": source.encode(),
        b"args": msgpack.packb(event.serialize()),
    }


class EventProducer:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        stream_key: str = DEFAULT_STREAM,
        broadcast_channel: str = DEFAULT_CHANNEL,
        maxlen: int = 100_000,
    ) -> None:
        self.redis = redis
        self.stream_key = stream_key
        self.broadcast_channel = broadcast_channel
        self.maxlen = maxlen

    async def produce_event(self, event: AbstractEvent, *, source: str = "manager") -> None:
        fields = _encode(event, source)
        async with self.redis.pipeline(transaction=False) as pipe:
            if event.delivery & EventDelivery.ANYCAST:
                pipe.xadd(self.stream_key, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
            if event.delivery & EventDelivery.BROADCAST:
                payload = {"name": event.name, "source": source, "args": fields[b"args"]}
                pipe.publish(self.broadcast_channel, msgpack.packb(payload))
            await pipe.execute()


class _Handler:
    __slots__ = ("context", "func", "name")

    def __init__(self, context: Any, func: EventHandler, name: str) -> None:
        self.context = context
        self.func = func
        self.name = name


class EventDispatcher:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        group: str | None,
        consumer_id: str | None = None,
        stream_key: str = DEFAULT_STREAM,
        broadcast_channel: str = DEFAULT_CHANNEL,
        claim_idle: float = 30.0,
        claim_interval: float | None = None,
        max_deliveries: int = 5,
        block_ms: int = 1000,
        batch_size: int = 64,
    ) -> None:
        self.redis = redis
        self.group = group
        self._group = group or ""  # the consumer group for Redis calls (anycast loops only)
        self.consumer_id = consumer_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stream_key = stream_key
        self.broadcast_channel = broadcast_channel
        self.claim_idle_ms = int(claim_idle * 1000)
        self.claim_interval = claim_interval if claim_interval is not None else max(claim_idle / 2, 0.1)
        self.max_deliveries = max_deliveries
        self.block_ms = block_ms
        self.batch_size = batch_size
        self._consumers: dict[str, list[_Handler]] = defaultdict(list)
        self._subscribers: dict[str, list[_Handler]] = defaultdict(list)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._subscribed = asyncio.Event()

    # --- registration ---------------------------------------------------------------------

    def consume(self, event_cls: type[AbstractEvent], context: Any, handler: EventHandler) -> _Handler:
        """Handle anycast events of this type in this process's consumer group."""
        if not event_cls.delivery & EventDelivery.ANYCAST:
            raise TypeError(f"{event_cls.__name__} is not delivered as anycast")
        if self.group is None:
            raise TypeError("a broadcast-only dispatcher (group=None) cannot consume anycast events")
        h = _Handler(context, handler, event_cls.name)
        self._consumers[event_cls.name].append(h)
        return h

    def subscribe(self, event_cls: type[AbstractEvent], context: Any, handler: EventHandler) -> _Handler:
        """Handle broadcast events of this type in this process."""
        if not event_cls.delivery & EventDelivery.BROADCAST:
            raise TypeError(f"{event_cls.__name__} is not delivered as broadcast")
        h = _Handler(context, handler, event_cls.name)
        self._subscribers[event_cls.name].append(h)
        return h

    def unconsume(self, h: _Handler) -> None:
        self._consumers[h.name].remove(h)

    def unsubscribe(self, h: _Handler) -> None:
        self._subscribers[h.name].remove(h)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._broadcast_loop(), name="events-broadcast")]
        if self.group is not None:  # group=None: a broadcast-only listener (e.g. agents)
            await self._ensure_group()
            self._tasks += [
                asyncio.create_task(self._anycast_loop(), name=f"events-anycast-{self.group}"),
                asyncio.create_task(self._claim_loop(), name=f"events-claim-{self.group}"),
            ]
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def close(self) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream_key, self._group, id="$", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    # --- anycast --------------------------------------------------------------------------

    async def _anycast_loop(self) -> None:
        await self._drain_own_pending()
        while not self._closing:
            try:
                reply: Any = await self.redis.xreadgroup(
                    self._group, self.consumer_id, {self.stream_key: ">"},
                    count=self.batch_size, block=self.block_ms,
                )
                for _stream, messages in reply or []:
                    for msg_id, fields in messages:
                        await self._dispatch_anycast(msg_id, fields)
            except asyncio.CancelledError:
                raise
            except (RedisConnectionError, OSError) as e:
                log.warning("event stream read failed (%s); retrying", e)
                await asyncio.sleep(1.0)
            except ResponseError as e:
                if "NOGROUP" in str(e):  # the stream was deleted underneath us
                    await self._ensure_group()
                else:
                    log.exception("event stream read failed")
                    await asyncio.sleep(1.0)

    async def _drain_own_pending(self) -> None:
        """Retry what this consumer id left unacknowledged (a restart that kept its id)."""
        last_id: Any = "0"
        while True:
            reply: Any = await self.redis.xreadgroup(
                self._group, self.consumer_id, {self.stream_key: last_id}, count=self.batch_size
            )
            messages = reply[0][1] if reply else []
            if not messages:
                return
            for msg_id, fields in messages:
                last_id = msg_id
                if fields:
                    await self._dispatch_anycast(msg_id, fields)
                else:  # trimmed from the stream meanwhile
                    await self.redis.xack(self.stream_key, self._group, msg_id)

    async def _dispatch_anycast(self, msg_id: bytes, fields: dict[bytes, bytes]) -> None:
        name = fields[b"name"].decode()
        handlers = list(self._consumers.get(name, ()))
        if handlers:
            try:
                event = self._decode(name, fields[b"args"])
            except Exception:
                log.exception("undecodable event %s (%s); dropping it", name, msg_id)
                await self.redis.xack(self.stream_key, self._group, msg_id)
                return
            source = fields.get(b"source", b"").decode()
            for h in handlers:
                try:
                    await h.func(h.context, source, event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("handler %s failed for event %s (%s); it will be redelivered",
                                  getattr(h.func, "__qualname__", h.func), name, msg_id.decode())
                    return  # not acknowledged: stays pending for a retry
        await self.redis.xack(self.stream_key, self._group, msg_id)

    async def _claim_loop(self) -> None:
        while not self._closing:
            try:
                await asyncio.sleep(self.claim_interval)
                await self.claim_stale()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("claiming stale events failed")

    async def claim_stale(self) -> int:
        """Take over events that stayed unacknowledged for `claim_idle`; returns how many."""
        pending: Any = await self.redis.xpending_range(
            self.stream_key, self._group, min="-", max="+", count=self.batch_size,
            idle=self.claim_idle_ms,
        )
        if not pending:
            return 0
        retry_ids: list[bytes] = []
        for p in pending:
            if p["times_delivered"] >= self.max_deliveries:
                await self._dead_letter(p["message_id"], p["times_delivered"])
            else:
                retry_ids.append(p["message_id"])
        if not retry_ids:
            return 0
        claimed: Any = await self.redis.xclaim(
            self.stream_key, self._group, self.consumer_id, self.claim_idle_ms, list(retry_ids)  # type: ignore[arg-type]
        )
        count = 0
        for msg_id, fields in claimed:
            if fields:
                count += 1
                await self._dispatch_anycast(msg_id, fields)
            else:  # trimmed from the stream meanwhile
                await self.redis.xack(self.stream_key, self._group, msg_id)
        return count

    async def _dead_letter(self, msg_id: bytes, deliveries: int) -> None:
        entries: Any = await self.redis.xrange(self.stream_key, min=msg_id, max=msg_id)
        if entries:
            _, fields = entries[0]
            log.error("event %s (%s) failed %d times; moved to %s.dead",
                      fields.get(b"name", b"?").decode(), msg_id.decode(), deliveries, self.stream_key)
            await self.redis.xadd(f"{self.stream_key}.dead", fields, maxlen=10_000, approximate=True)
        await self.redis.xack(self.stream_key, self._group, msg_id)

    # --- broadcast ------------------------------------------------------------------------

    async def _broadcast_loop(self) -> None:
        while not self._closing:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.broadcast_channel)
                self._subscribed.set()
                while not self._closing:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None and msg.get("type") == "message":
                        await self._dispatch_broadcast(msg["data"])
            except asyncio.CancelledError:
                raise
            except (RedisConnectionError, OSError) as e:
                log.warning("event broadcast channel failed (%s); resubscribing", e)
                await asyncio.sleep(1.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def _dispatch_broadcast(self, data: bytes) -> None:
        try:
            payload = msgpack.unpackb(data)
            name = payload["name"]
            handlers = list(self._subscribers.get(name, ()))
            if not handlers:
                return
            event = self._decode(name, payload["args"])
            source = payload.get("source", "")
        except Exception:
            log.exception("undecodable broadcast event")
            return
        for h in handlers:
            try:
                await h.func(h.context, source, event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("broadcast handler %s failed for %s",
                              getattr(h.func, "__qualname__", h.func), name)

    @staticmethod
    def _decode(name: str, args: bytes) -> AbstractEvent:
        from .base import event_class_for

        cls = event_class_for(name)
        if cls is None:
            raise LookupError(f"unknown event {name!r}")
        return cls.deserialize(msgpack.unpackb(args))
