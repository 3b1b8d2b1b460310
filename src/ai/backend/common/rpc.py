"""A small msgpack RPC over ZeroMQ for manager -> agent calls.

The server binds a ROUTER socket; each client connects a DEALER socket. A request is
`{"id", "method", "args", "kwargs"}`, a reply `{"id", "result"}` or `{"id", "error": {"type",
"message"}}`, all msgpack-encoded (see common.msgpack). Every call is bounded by a timeout on
the client side; the server runs each request in its own task so a slow call never blocks
the others.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio

from . import msgpack

log = logging.getLogger(__name__)

RPCFunction = Callable[..., Awaitable[Any]]


class RPCError(Exception):
    """The remote side raised; `type` is the remote exception class name."""

    def __init__(self, type_: str, message: str, remote_traceback: str | None = None) -> None:
        super().__init__(f"{type_}: {message}")
        self.type = type_
        self.message = message
        self.remote_traceback = remote_traceback


class RPCTimeout(TimeoutError):
    pass


class RPCServer:
    def __init__(self, bind_addr: str, *, ctx: zmq.asyncio.Context | None = None) -> None:
        self.bind_addr = bind_addr  # e.g. "tcp://0.0.0.0:6001"
        self._ctx = ctx or zmq.asyncio.Context.instance()
        self._functions: dict[str, RPCFunction] = {}
        self._sock: zmq.asyncio.Socket | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, name: str, func: RPCFunction) -> None:
        self._functions[name] = func

    def function(self, func: RPCFunction) -> RPCFunction:
        """Decorator form of register(), using the function's name."""
        self.register(func.__name__, func)
        return func

    async def start(self) -> None:
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 100)
        sock.bind(self.bind_addr)
        self._sock = sock
        self._loop_task = asyncio.create_task(self._serve(), name="rpc-server")

    @property
    def bound_port(self) -> int:
        assert self._sock is not None
        endpoint = self._sock.getsockopt(zmq.LAST_ENDPOINT)
        assert isinstance(endpoint, bytes)
        return int(endpoint.decode().rsplit(":", 1)[1])

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def _serve(self) -> None:
        assert self._sock is not None
        while True:
            frames = await self._sock.recv_multipart()
            if len(frames) < 2:
                continue
            identity, payload = frames[0], frames[-1]
            task = asyncio.create_task(self._handle(identity, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, identity: bytes, payload: bytes) -> None:
        req_id = None
        try:
            req = msgpack.unpackb(payload)
            req_id = req["id"]
            func = self._functions.get(req["method"])
            if func is None:
                raise LookupError(f"unknown RPC method {req['method']!r}")
            result = await func(*req.get("args", ()), **req.get("kwargs", {}))
            reply: dict[str, Any] = {"id": req_id, "result": result}
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("RPC %s failed: %r", locals().get("req", {}).get("method"), e)
            reply = {"id": req_id, "error": {
                "type": type(e).__name__, "message": str(e), "traceback": traceback.format_exc(),
            }}
        try:
            data = msgpack.packb(reply)
        except TypeError as e:
            data = msgpack.packb({"id": req_id, "error": {"type": "TypeError", "message": f"unserializable result: {e}"}})
        if self._sock is not None:
            await self._sock.send_multipart([identity, b"", data])


class RPCClient:
    """One connection to one RPC server; safe for concurrent calls."""

    def __init__(self, addr: str, *, default_timeout: float = 30.0, ctx: zmq.asyncio.Context | None = None) -> None:
        self.addr = addr  # e.g. "tcp://10.0.0.5:6001"
        self.default_timeout = default_timeout
        self._ctx = ctx or zmq.asyncio.Context.instance()
        self._sock: zmq.asyncio.Socket | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._recv_task: asyncio.Task[None] | None = None

    def _ensure_connected(self) -> zmq.asyncio.Socket:
        if self._sock is None:
            sock = self._ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.addr)
            self._sock = sock
            self._recv_task = asyncio.create_task(self._recv_loop(), name=f"rpc-client-{self.addr}")
        return self._sock

    async def _recv_loop(self) -> None:
        assert self._sock is not None
        while True:
            frames = await self._sock.recv_multipart()
            try:
                reply = msgpack.unpackb(frames[-1])
            except Exception:
                log.warning("undecodable RPC reply from %s", self.addr)
                continue
            fut = self._pending.pop(reply.get("id"), None)
            if fut is None or fut.done():
                continue  # the caller timed out already
            if "error" in reply:
                err = reply["error"]
                fut.set_exception(RPCError(err.get("type", "Error"), err.get("message", ""), err.get("traceback")))
            else:
                fut.set_result(reply.get("result"))

    async def call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        sock = self._ensure_connected()
        req_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            await sock.send_multipart([b"", msgpack.packb({"id": req_id, "method": method, "args": list(args), "kwargs": kwargs})])
            limit = self.default_timeout if timeout is None else timeout
            try:
                return await asyncio.wait_for(fut, limit)
            except TimeoutError:
                raise RPCTimeout(f"RPC {method} to {self.addr} timed out after {limit}s") from None
        finally:
            self._pending.pop(req_id, None)

    async def close(self) -> None:
        if self._recv_task is not None:
            self._recv_task.cancel()
            await asyncio.gather(self._recv_task, return_exceptions=True)
            self._recv_task = None
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
