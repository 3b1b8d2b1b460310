import asyncio
import uuid

import pytest

from ai.backend.common.rpc import RPCClient, RPCError, RPCServer, RPCTimeout


@pytest.fixture
async def server():
    srv = RPCServer("tcp://127.0.0.1:0")

    @srv.function
    async def ping(value: str) -> str:
        return f"pong:{value}"

    @srv.function
    async def slow(delay: float) -> str:
        await asyncio.sleep(delay)
        return "done"

    @srv.function
    async def fail() -> None:
        raise ValueError("no such kernel")

    @srv.function
    async def echo_types(kernel_id: uuid.UUID, **opts):
        return {"kernel_id": kernel_id, "opts": opts}

    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def client(server: RPCServer):
    c = RPCClient(f"tcp://127.0.0.1:{server.bound_port}", default_timeout=5)
    yield c
    await c.close()


async def test_call_and_types_round_trip(client: RPCClient) -> None:
    assert await client.call("ping", "x") == "pong:x"
    kid = uuid.uuid4()
    assert await client.call("echo_types", kid, mode="query") == {"kernel_id": kid, "opts": {"mode": "query"}}


async def test_remote_errors_are_typed(client: RPCClient) -> None:
    with pytest.raises(RPCError) as e:
        await client.call("fail")
    assert e.value.type == "ValueError" and e.value.message == "no such kernel"
    with pytest.raises(RPCError, match="unknown RPC method"):
        await client.call("nope")


async def test_every_call_is_bounded_by_a_timeout(client: RPCClient) -> None:
    with pytest.raises(RPCTimeout):
        await client.call("slow", 2.0, timeout=0.2)
    # a slow call does not block others
    slow = asyncio.create_task(client.call("slow", 0.5))
    assert await client.call("ping", "fast") == "pong:fast"
    assert await slow == "done"


async def test_unreachable_server_times_out() -> None:
    c = RPCClient("tcp://127.0.0.1:9", default_timeout=0.3)
    try:
        with pytest.raises(RPCTimeout):
            await c.call("ping", "x")
    finally:
        await c.close()
