"""Regressions found by the user's-eye QA pass over sessions and the client."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.helpers import EventLog, of_kernel
from ai.backend.common import redis_helper
from ai.backend.common.events.bus import EventProducer
from ai.backend.common.events.kernel import KernelTerminatedEvent
from manager.helpers import SignedClient
from manager.sessions_ops.conftest import SessionFactory
from manager.sessions_ops.ophelpers import console_text, execute_loop


async def test_logs_of_a_terminated_session_are_kept(session_factory: SessionFactory, user: SignedClient,
                                                     manager: Any, redis_client: Any,
                                                     redis_addr: Any) -> None:
    """`session logs` after the container is gone (e.g. a finished batch session) used to be empty:
    the agent now sends the log's tail with kernel_terminated and the manager keeps it."""
    sess = await session_factory()
    live = await user.request("GET", f"/session/{sess.name}/logs")
    assert live.status == 200 and "kernel runner ready" in live.body["result"]["logs"]
    resp = await user.request("DELETE", f"/session/{sess.id}")
    assert resp.status == 200, resp.body
    # this fixture keeps the agent's anycast events on its own stream; hand the manager the real one
    agent_stream = sess.agent.config["agent"]["event-stream-key"]
    event = await EventLog(redis_client, agent_stream).wait_for(of_kernel(str(sess.kernel_id), "kernel_terminated"))
    assert isinstance(event, KernelTerminatedEvent)
    assert event.container_log and event.container_log.startswith(live.body["result"]["logs"])
    stream_db = redis_helper.connect(redis_addr, db=redis_helper.REDIS_STREAM_DB)
    producer = EventProducer(stream_db, stream_key=manager.local_config["manager"]["event-stream-key"],
                             broadcast_channel=manager.local_config["manager"]["event-broadcast-channel"])
    try:
        await producer.produce_event(event, source=str(sess.agent.id))
    finally:
        await stream_db.aclose()
    for _ in range(40):
        after = await user.request("GET", f"/session/{sess.id}/logs")
        assert after.status == 200, after.body
        if after.body["result"]["logs"]:
            break
        await asyncio.sleep(0.5)
    assert after.body["result"]["logs"] == event.container_log


async def test_batch_output_reaches_the_container_log(session_factory: SessionFactory, user: SignedClient) -> None:
    """A batch command's output (e.g. a batch session's startup command) was only sent to the
    run; now it is also in the container log that `session logs` shows."""
    sess = await session_factory()
    results = await execute_loop(user, sess.name, "", mode="batch",
                                 opts={"exec": "echo qa-batch-out; echo qa-batch-err >&2"})
    assert "qa-batch-out" in console_text(results)
    resp = await user.request("GET", f"/session/{sess.name}/logs")
    assert resp.status == 200
    assert "qa-batch-out" in resp.body["result"]["logs"] and "qa-batch-err" in resp.body["result"]["logs"]
