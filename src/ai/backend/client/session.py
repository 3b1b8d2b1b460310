"""Client sessions: the HTTP connection pool, the negotiated API version and the function
classes bound to it.

`AsyncSession` is used with `async with` and its functions are coroutines. `Session` is the
synchronous flavour: it runs an event loop in a worker thread and its functions block and
return plain values, so scripts need no asyncio at all.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextvars import ContextVar, Token
from typing import Any, TypeVar

import aiohttp

from .config import MIN_API_VERSION, APIConfig, get_config, local_state_path, parse_api_version
from .exceptions import APIVersionWarning, BackendAPIError, BackendClientError

__all__ = ("BaseSession", "Session", "AsyncSession", "api_session")

T = TypeVar("T")

api_session: ContextVar[BaseSession] = ContextVar("api_session")

# (attribute name, module under .func, class name)
_FUNCTIONS: tuple[tuple[str, str, str], ...] = (
    ("Admin", "admin", "Admin"),
    ("Agent", "agent", "Agent"),
    ("AgentWatcher", "agent", "AgentWatcher"),
    ("Auth", "auth", "Auth"),
    ("BackgroundTask", "bgtask", "BackgroundTask"),
    ("ComputeSession", "session", "ComputeSession"),
    ("Domain", "domain", "Domain"),
    ("Dotfile", "dotfile", "Dotfile"),
    ("Group", "group", "Group"),
    ("Image", "image", "Image"),
    ("KeyPair", "keypair", "KeyPair"),
    ("KeypairResourcePolicy", "keypair_resource_policy", "KeypairResourcePolicy"),
    ("Manager", "manager", "Manager"),
    ("Resource", "resource", "Resource"),
    ("ScalingGroup", "scaling_group", "ScalingGroup"),
    ("SessionTemplate", "session_template", "SessionTemplate"),
    ("System", "system", "System"),
    ("User", "user", "User"),
    ("VFolder", "vfolder", "VFolder"),
)


async def negotiate_api_version(http: aiohttp.ClientSession, config: APIConfig) -> tuple[int, str]:
    """The lower of the client's and the server's API versions (`GET /`, unauthenticated).
    Falls back to the client's version when the server cannot be asked."""
    from .request import with_failover

    client_version = parse_api_version(config.version)

    async def probe() -> Any:
        url = config.endpoint / "func/" if config.endpoint_type == "session" else config.endpoint
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.connection_timeout,
                                        sock_read=config.read_timeout)
        async with http.get(url, timeout=timeout, headers={"User-Agent": config.user_agent}) as resp:
            resp.raise_for_status()
            return await resp.json(content_type=None)

    try:
        info = await with_failover(config, probe)
        server_version = parse_api_version(str(info["version"]))
    except (BackendClientError, aiohttp.ClientError, asyncio.TimeoutError, KeyError, TypeError, ValueError):
        return client_version
    if server_version > client_version:
        warnings.warn("The server speaks a newer API version than this client; consider upgrading.",
                      APIVersionWarning, stacklevel=2)
    if server_version < MIN_API_VERSION:
        warnings.warn(f"The server's API version v{server_version[0]}.{server_version[1]} is older than "
                      f"the minimum this client supports (v{MIN_API_VERSION[0]}.{MIN_API_VERSION[1]}).",
                      APIVersionWarning, stacklevel=2)
    return min(server_version, client_version)


def _make_http_session(config: APIConfig) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=not config.skip_sslcert_validation)
    jar = aiohttp.CookieJar(unsafe=True)  # IP-address endpoints need cookies too (session mode)
    if config.endpoint_type == "session":
        cookie_file = local_state_path() / "cookie.dat"
        if cookie_file.exists():
            try:
                jar.load(cookie_file)
            except Exception:  # a corrupt or foreign file is the same as no login
                pass
    return aiohttp.ClientSession(connector=connector, cookie_jar=jar)


class BaseSession:
    """What both session flavours share: config, API version, bound function classes.

    Each function class is subclassed per session with `session` set, so calls like
    `session.ComputeSession.get_or_create(...)` always use this session."""

    aiohttp_session: aiohttp.ClientSession
    api_version: tuple[int, str]
    is_sync: bool = False

    def __init__(self, *, config: APIConfig | None = None, proxy_mode: bool = False) -> None:
        import importlib

        self._config = config if config is not None else get_config()
        self._proxy_mode = proxy_mode
        self._closed = False
        self._context_token: Token[BaseSession] | None = None
        self.api_version = parse_api_version(self._config.version)
        for attr, module, name in _FUNCTIONS:
            full = f"ai.backend.client.func.{module}"
            try:
                cls = getattr(importlib.import_module(full), name)
            except ModuleNotFoundError as e:  # an optional function module not shipped
                if e.name != full:
                    raise
                continue
            setattr(self, attr, type(name, (cls,), {"session": self, "__module__": cls.__module__}))

    def __getattr__(self, name: str) -> Any:  # typed access to the bound function classes
        raise AttributeError(name)

    @property
    def config(self) -> APIConfig:
        return self._config

    @property
    def proxy_mode(self) -> bool:
        """True skips API version negotiation when opening."""
        return self._proxy_mode

    @property
    def closed(self) -> bool:
        return self._closed


class _WorkerThread(threading.Thread):
    """Runs one event loop; other threads submit coroutines and wait for their results."""

    def __init__(self) -> None:
        super().__init__(name="backend.ai-client", daemon=True)
        self.loop = asyncio.new_event_loop()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def execute(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def execute_generator(self, agen: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self.execute(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and self.loop.is_running():
                self.execute(aclose())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join()


async def _announce(session: BaseSession, payload: Any) -> None:
    handler = session.config.announcement_handler
    if handler is not None and isinstance(payload, dict) and payload.get("enabled"):
        handler(str(payload.get("message", "")))


class Session(BaseSession):
    """Synchronous client session: functions block and return their results."""

    is_sync = True

    def __init__(self, *, config: APIConfig | None = None, proxy_mode: bool = False) -> None:
        super().__init__(config=config, proxy_mode=proxy_mode)
        self._worker_thread = _WorkerThread()
        self._worker_thread.start()

        async def _create() -> aiohttp.ClientSession:
            return _make_http_session(self._config)

        self.aiohttp_session = self._worker_thread.execute(_create())

    @property
    def worker_thread(self) -> _WorkerThread:
        """The thread running the asynchronous implementations of the API functions."""
        return self._worker_thread

    def open(self) -> None:
        self._context_token = api_session.set(self)
        if not self._proxy_mode:
            self.api_version = self._worker_thread.execute(negotiate_api_version(self.aiohttp_session, self._config))

    def close(self) -> None:
        """Close the HTTP pool, then stop and join the worker thread."""
        if self._closed:
            return
        self._closed = True
        self._worker_thread.execute(self.aiohttp_session.close())
        self._worker_thread.stop()
        if self._context_token is not None:
            api_session.reset(self._context_token)
            self._context_token = None

    def __enter__(self) -> Session:
        if self._closed:
            raise BackendClientError("cannot reuse a closed session")
        self.open()
        if self._config.announcement_handler is not None:
            try:
                payload = self.Manager.get_announcement()
                self._worker_thread.execute(_announce(self, payload))
            except (BackendClientError, BackendAPIError):
                pass
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class AsyncSession(BaseSession):
    """Asynchronous client session: functions are coroutines; streaming APIs work here."""

    def __init__(self, *, config: APIConfig | None = None, proxy_mode: bool = False) -> None:
        super().__init__(config=config, proxy_mode=proxy_mode)
        self.aiohttp_session = _make_http_session(self._config)

    async def open(self) -> None:
        self._context_token = api_session.set(self)
        if not self._proxy_mode:
            self.api_version = await negotiate_api_version(self.aiohttp_session, self._config)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.aiohttp_session.close()
        if self._context_token is not None:
            try:
                api_session.reset(self._context_token)
            except ValueError:  # closed from another context
                pass
            self._context_token = None

    async def __aenter__(self) -> AsyncSession:
        if self._closed:
            raise BackendClientError("cannot reuse a closed session")
        await self.open()
        if self._config.announcement_handler is not None:
            try:
                await _announce(self, await self.Manager.get_announcement())
            except (BackendClientError, BackendAPIError):
                pass
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()
