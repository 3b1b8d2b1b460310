"""`/events/session` and `/events/background-task` SSE streams. Lifecycle events come from a
producer on the manager's broadcast channel (as the scheduler would send them) and, for
kernels, from the real agent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.common.events import EventProducer
from ai.backend.common.events import bgtask as B
from ai.backend.common.events import session as S
from ai.backend.common.redis_helper import REDIS_LIVE_DB, REDIS_STREAM_DB, connect
from ai.backend.common.rpc import RPCClient
from ai.backend.common.status import SessionResult, SessionStatus
from ai.backend.manager.models import sessions
from manager.helpers import ADMIN, SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import SSEStream, open_sse


@pytest.fixture
async def producer(manager: Any, redis_addr: Any) -> AsyncIterator[EventProducer]:
    """Produces on the bus the manager listens to (like the scheduler does)."""
    redis = connect(redis_addr, db=REDIS_STREAM_DB)
    mgr = manager.local_config["manager"]
    yield EventProducer(redis, stream_key=f"{mgr['event-stream-key']}.unused",
                        broadcast_channel=mgr["event-broadcast-channel"])
    await redis.aclose()


LIFECYCLE = [S.SessionScheduledEvent, S.SessionPreparingEvent, S.SessionPullingEvent, S.SessionCreatingEvent,
             S.SessionStartedEvent]


async def test_session_events_in_order_until_server_close(session_factory: SessionFactory, user: SignedClient,
                                                          producer: EventProducer, manager: Any) -> None:
    sess = await session_factory()
    other = await session_factory(backend="dummy")
    async with open_sse(user, "/events/session", {"sessionName": sess.name, "scope": "*"}) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        stream = SSEStream(resp)
        for cls in LIFECYCLE:
            await producer.produce_event(cls(sess.id, reason=f"step-{cls.name}"))
            await producer.produce_event(cls(other.id, reason="not yours to see"))
        # the real agent destroys the kernel: kernel_terminating / kernel_terminated from it
        rpc = RPCClient(sess.agent.rpc_addr, default_timeout=60)
        await producer.produce_event(S.SessionTerminatingEvent(sess.id, reason="user-requested"))
        await rpc.call("destroy_kernel", str(sess.kernel_id), str(sess.id), "user-requested")
        await rpc.close()
        async with manager.db.begin() as conn:
            await conn.execute(sa.update(sessions).where(sessions.c.id == sess.id)
                               .values(result=SessionResult.SUCCESS))
        await producer.produce_event(S.SessionTerminatedEvent(sess.id, reason="user-requested"))
        events = await stream.until_close()
    names = [n for n, _ in events]
    assert names == ["session_scheduled", "session_preparing", "session_pulling", "session_creating",
                     "session_started", "session_terminating", "kernel_terminating", "kernel_terminated",
                     "session_terminated", "server_close"]
    data = dict(events)
    assert data["session_started"] == {"sessionId": str(sess.id), "sessionName": sess.name,
                                       "ownerAccessKey": sess.access_key, "reason": "step-session_started"}
    assert data["kernel_terminated"]["kernelId"] == str(sess.kernel_id)
    assert data["kernel_terminated"]["clusterRole"] == "main" and data["kernel_terminated"]["exitCode"] == 0
    assert data["session_terminated"]["result"] == "SUCCESS"
    assert data["server_close"] == {}
    assert all(d.get("sessionId") == str(sess.id) for n, d in events if n != "server_close")


async def test_scope_and_session_id(session_factory: SessionFactory, user: SignedClient,
                                    producer: EventProducer) -> None:
    sess = await session_factory(backend="dummy")
    rpc = RPCClient(sess.agent.rpc_addr, default_timeout=60)
    async with open_sse(user, "/events/session", {"sessionId": str(sess.id), "scope": "session"}) as resp:
        stream = SSEStream(resp)
        await rpc.call("destroy_kernel", str(sess.kernel_id), str(sess.id), "user-requested")  # kernel events
        await producer.produce_event(S.SessionCancelledEvent(sess.id, reason="cancelled"))
        events = await stream.until_close()
    assert [n for n, _ in events] == ["session_cancelled", "server_close"]
    sess2 = await session_factory(backend="dummy")
    async with open_sse(user, "/events/session", {"sessionName": sess2.name, "scope": "kernel"}) as resp:
        stream = SSEStream(resp)
        await producer.produce_event(S.SessionTerminatingEvent(sess2.id))
        await rpc.call("destroy_kernel", str(sess2.kernel_id), str(sess2.id), "user-requested")
        first, second = await stream.next(), await stream.next()
    assert [first[0], second[0]] == ["kernel_terminating", "kernel_terminated"]
    await rpc.close()


async def test_all_visible_sessions_with_star(session_factory: SessionFactory, user: SignedClient,
                                              admin: SignedClient, producer: EventProducer) -> None:
    mine = await session_factory(backend="dummy")
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    async with open_sse(user, "/events/session", {"sessionName": "*", "scope": "session"}) as r_user, \
            open_sse(admin, "/events/session", {"sessionName": "*", "scope": "session", "group": "default"}) as r_admin:
        await producer.produce_event(S.SessionStartedEvent(theirs.id, reason="theirs"))
        await producer.produce_event(S.SessionStartedEvent(mine.id, reason="mine"))
        got_user = await SSEStream(r_user).next()
        admin_stream = SSEStream(r_admin)
        got_admin = [await admin_stream.next(), await admin_stream.next()]
    assert got_user == ("session_started", {"sessionId": str(mine.id), "sessionName": mine.name,
                                            "ownerAccessKey": mine.access_key, "reason": "mine"})
    assert [d["reason"] for _, d in got_admin] == ["theirs", "mine"]   # a superadmin sees both


async def test_session_event_errors(session_factory: SessionFactory, user: SignedClient, manager: Any) -> None:
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    async with open_sse(user, "/events/session", {"sessionName": theirs.name}) as resp:
        assert resp.status == 404 and resp.content_type == "application/problem+json"
    async with open_sse(user, "/events/session", {"sessionName": "x", "scope": "everything"}) as resp:
        assert resp.status == 400
    async with open_sse(user, "/events/session", {"sessionName": "*", "group": "no-such-project"}) as resp:
        assert resp.status == 404
    async with open_sse(user, "/events/session", {"sessionName": "x", "ownerAccessKey": ADMIN[0]}) as resp:
        assert resp.status == 403
    ended = await session_factory(backend="dummy")
    async with manager.db.begin() as conn:
        await conn.execute(sa.update(sessions).where(sessions.c.id == ended.id)
                           .values(status=SessionStatus.TERMINATED))
    async with open_sse(user, "/events/session", {"sessionName": ended.name}) as resp:
        assert await SSEStream(resp).until_close() == [("server_close", {})]


async def test_background_task_events(user: SignedClient, producer: EventProducer, redis_addr: Any) -> None:
    live = connect(redis_addr, db=REDIS_LIVE_DB)
    task_id, done_id = uuid.uuid4(), uuid.uuid4()
    try:
        await live.hset(f"bgtask.{task_id}", mapping={"status": "started", "msg": ""})
        await live.hset(f"bgtask.{done_id}", mapping={"status": "done", "msg": "all good"})
        async with open_sse(user, "/events/background-task", {"taskId": str(task_id)}) as resp:
            assert resp.status == 200
            stream = SSEStream(resp)
            await producer.produce_event(B.BgtaskUpdatedEvent(uuid.uuid4(), message="another task"))
            await producer.produce_event(B.BgtaskUpdatedEvent(task_id, message="half", current_progress=1,
                                                              total_progress=2))
            await producer.produce_event(B.BgtaskDoneEvent(task_id, message="finished"))
            events = await stream.until_close()
        assert events == [
            ("bgtask_updated", {"task_id": str(task_id), "message": "half", "current_progress": 1,
                                "total_progress": 2}),
            ("bgtask_done", {"task_id": str(task_id), "message": "finished", "current_progress": 0,
                             "total_progress": 0}),
            ("server_close", {}),
        ]
        async with open_sse(user, "/events/background-task", {"taskId": str(done_id)}) as resp:
            events = await SSEStream(resp).until_close()
        assert [n for n, _ in events] == ["bgtask_done", "server_close"] and events[0][1]["message"] == "all good"
        async with open_sse(user, "/events/background-task", {"taskId": str(uuid.uuid4())}) as resp:
            assert resp.status == 404
        async with open_sse(user, "/events/background-task", {"taskId": "nope"}) as resp:
            assert resp.status == 400
    finally:
        await live.delete(f"bgtask.{task_id}", f"bgtask.{done_id}")
        await live.aclose()


async def test_stream_survives_idle_keepalive(session_factory: SessionFactory, user: SignedClient,
                                              producer: EventProducer, monkeypatch: Any) -> None:
    from ai.backend.manager.api import events as events_api

    monkeypatch.setattr(events_api, "KEEPALIVE", 0.2)
    sess = await session_factory(backend="dummy")
    async with open_sse(user, "/events/session", {"sessionName": sess.name}) as resp:
        await asyncio.sleep(0.7)   # a few keepalive comments go by; the parser skips them
        await producer.produce_event(S.SessionTerminatedEvent(sess.id, reason="idle-timeout"))
        events = await SSEStream(resp).until_close()
    assert [n for n, _ in events] == ["session_terminated", "server_close"]
    assert events[0][1]["reason"] == "idle-timeout"


async def test_admin_watches_another_keypairs_session_by_id(session_factory: SessionFactory, user: SignedClient,
                                                            domain_admin: SignedClient,
                                                            producer: EventProducer) -> None:
    mine = await session_factory(backend="dummy")
    async with open_sse(domain_admin, "/events/session", {"sessionId": str(mine.id)}) as resp:
        assert resp.status == 200
        await producer.produce_event(S.SessionTerminatedEvent(mine.id, reason="watched by an admin"))
        events = await SSEStream(resp).until_close()
    assert [n for n, _ in events] == ["session_terminated", "server_close"]
    assert events[0][1]["ownerAccessKey"] == mine.access_key
    theirs = await session_factory(owner=ADMIN[0], backend="dummy")
    async with open_sse(user, "/events/session", {"sessionId": str(theirs.id)}) as resp:
        assert resp.status == 404    # a plain user never reaches another keypair's session
