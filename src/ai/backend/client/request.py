"""Low-level API requests: signing (api mode) or cookies (session mode), endpoint fail-over,
problem+json errors, plus websocket and Server-Sent Events connections.

A `Request` belongs to a client session (the one active in `api_session` unless given).
`fetch()` works both as `async with` (AsyncSession, or inside API functions) and as plain
`with` for a synchronous `Session`, whose worker thread then does the I/O.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from ai.backend.common import signing

from .exceptions import BackendAPIError, BackendClientError

if TYPE_CHECKING:
    from .config import APIConfig
    from .session import BaseSession

__all__ = (
    "Request",
    "Response",
    "SyncResponse",
    "FetchContextManager",
    "WebSocketResponse",
    "WebSocketContextManager",
    "SSEMessage",
    "SSEResponse",
    "SSEContextManager",
    "AttachedFile",
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "REPORT"})


class AttachedFile(NamedTuple):
    """A file sent as one multipart part named "src"."""
    filename: str
    stream: Any
    content_type: str


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if hasattr(obj, "hex") and type(obj).__name__ == "UUID":
        return str(obj)
    raise TypeError(f"not JSON-serializable: {type(obj).__name__}")


class Request:
    """One API request. `Request(method, path, content, ...)`; the older form
    `Request(session, method, path, ...)` is accepted too."""

    def __init__(self, *args: Any, content_type: str | None = None, params: Mapping[str, Any] | None = None,
                 reporthook: Callable[..., Any] | None = None, override_api_version: str | None = None,
                 session: BaseSession | None = None, **kwargs: Any) -> None:
        from .session import BaseSession, api_session

        if args and isinstance(args[0], BaseSession):
            session, args = args[0], args[1:]
        names = ("method", "path", "content")
        values = dict(zip(names, args, strict=False))
        values.update({k: kwargs.pop(k) for k in names if k in kwargs})
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        if session is None:
            try:
                session = api_session.get()
            except LookupError:
                raise BackendClientError("no client session is open (use `with Session():`)") from None
        self.session: BaseSession = session
        self.method = str(values.get("method", "GET")).upper()
        if self.method not in _METHODS:
            raise ValueError(f"unsupported HTTP method {self.method}")
        self.path = str(values.get("path") or "")
        self.params = {k: (str(v).lower() if isinstance(v, bool) else str(v))
                       for k, v in (params or {}).items() if v is not None}
        self.reporthook = reporthook
        self.override_api_version = override_api_version
        self.headers: dict[str, str] = {}
        self._content: Any = b""
        self._attached: Sequence[AttachedFile] | None = None
        self.content_type = "application/octet-stream"
        content = values.get("content")
        if content is not None:
            self.set_content(content, content_type=content_type)
        elif content_type:
            self.content_type = content_type

    @property
    def config(self) -> APIConfig:
        return self.session.config

    @property
    def api_version(self) -> str:
        if self.override_api_version:
            return self.override_api_version
        major, date = self.session.api_version
        return f"v{major}.{date}"

    @property
    def content(self) -> Any:
        return self._content

    def set_content(self, value: Any, *, content_type: str | None = None) -> None:
        """Raw bytes/str, or a JSON-serializable object (sent as application/json)."""
        if isinstance(value, bytes | bytearray | str):
            self._content = value.encode() if isinstance(value, str) else bytes(value)
            self.content_type = content_type or ("text/plain" if isinstance(value, str) else "application/octet-stream")
        else:
            self.set_json(value)
            if content_type:
                self.content_type = content_type

    def set_json(self, value: Any) -> None:
        self._content = json.dumps(value, default=_json_default).encode()
        self.content_type = "application/json"

    def attach_files(self, files: Sequence[AttachedFile]) -> None:
        """Send the files as multipart/form-data (each part named "src")."""
        self._attached = files
        self.content_type = "multipart/form-data"

    # --- building ----------------------------------------------------------------------------

    def build_url(self) -> URL:
        endpoint = self.config.endpoint
        path = self.path.lstrip("/")
        if self.config.endpoint_type == "session" and not path.startswith("server"):
            path = "func/" + path
        url = endpoint.with_path(endpoint.path.rstrip("/") + "/" + path)
        if self.params:
            # percent-encode like the official client (`*` -> %2A); we sign what we send
            url = URL(str(url) + "?" + urlencode(self.params), encoded=True)
        return url

    def build_headers(self, url: URL, *, now: datetime | None = None, anonymous: bool = False,
                      send_content_type: bool = True) -> dict[str, str]:
        """The headers for sending to `url`, signed in api mode unless anonymous."""
        hdrs: dict[str, str] = {}
        hdrs["User-Agent"] = self.config.user_agent
        hdrs["X-BackendAI-Domain"] = self.config.domain
        hdrs["X-BackendAI-Version"] = self.api_version
        date = (now or datetime.now(UTC)).isoformat()
        hdrs["Date"] = date
        if send_content_type and self._attached is None:
            hdrs["Content-Type"] = self.content_type
        hdrs.update(self.headers)
        if self.config.endpoint_type == "api" and not self.config.is_anonymous and not anonymous:
            sig = signing.sign(
                secret_key=self.config.secret_key, method=self.method, path_with_query=url.raw_path_qs,
                date_header=date, host=url.raw_authority,
                content_type=self.content_type if send_content_type else None,
                api_version=self.api_version, hash_type=self.config.hash_type,
            )
            hdrs["Authorization"] = signing.authorization_header(self.config.access_key, sig, self.config.hash_type)
        return hdrs

    def _body(self) -> Any:
        if self._attached is None:
            return self._content
        form = aiohttp.FormData()
        for f in self._attached:
            form.add_field("src", f.stream, filename=f.filename, content_type=f.content_type)
        return form

    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=self.config.connection_timeout,
                                     sock_read=self.config.read_timeout)

    # --- sending -----------------------------------------------------------------------------

    def fetch(self, *, anonymous: bool = False, check_status: bool = True) -> FetchContextManager:
        """Send the request; the response is available inside the context."""
        async def send() -> aiohttp.ClientResponse:
            url = self.build_url()
            return await self.session.aiohttp_session.request(
                self.method, url, data=self._body(), headers=self.build_headers(url, anonymous=anonymous),
                timeout=self._timeout(), allow_redirects=False,
            )

        return FetchContextManager(self.session, send, check_status=check_status)

    def connect_websocket(self, **kwargs: Any) -> WebSocketContextManager:
        """Open a websocket (GET, signed with the octet-stream content type)."""
        self.content_type = "application/octet-stream"

        async def connect() -> aiohttp.ClientWebSocketResponse:
            url = self.build_url()
            return await self.session.aiohttp_session.ws_connect(
                url, headers=self.build_headers(url, send_content_type=False), autoping=True, heartbeat=30.0,
                max_msg_size=0,
            )

        return WebSocketContextManager(self.session, connect, **kwargs)

    def connect_events(self, **kwargs: Any) -> SSEContextManager:
        """Open a Server-Sent Events stream."""
        self.content_type = "application/octet-stream"

        async def send() -> aiohttp.ClientResponse:
            url = self.build_url()
            hdrs = self.build_headers(url, send_content_type=False)
            hdrs["Accept"] = "text/event-stream"
            return await self.session.aiohttp_session.request(
                "GET", url, headers=hdrs, timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.config.connection_timeout),
            )

        return SSEContextManager(self.session, send, **kwargs)


async def with_failover(config: APIConfig, attempt: Callable[[], Any]) -> Any:
    """Try the active endpoint, then each other one, when a connection cannot be made.

    Only connection-establishment failures move on to the next endpoint (the request never
    reached a server); a timeout or disconnect after sending is reported, never re-sent."""
    endpoints = len(config.endpoints)
    last: Exception | None = None
    for _ in range(endpoints):
        try:
            return await attempt()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
            last = e
            config.rotate_endpoints()
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as e:
            raise BackendClientError(f"the API server did not answer in time (read timeout): {e!r}") from e
        except aiohttp.ClientResponseError as e:
            raise BackendClientError(f"malformed response from the API endpoint: {e!r}") from e
        except aiohttp.ClientError as e:
            raise BackendClientError(f"the request to the API endpoint failed: {e!r}") from e
    raise BackendClientError(
        "Request to the API endpoint has failed; check your network connection and the server "
        f"status ({', '.join(str(u) for u in config.endpoints)}): {last!r}") from last


async def raise_for_problem(raw: aiohttp.ClientResponse) -> None:
    """Turn a non-2xx/3xx response into BackendAPIError with the decoded problem+json."""
    if raw.status // 100 in (2, 3):
        return
    text = await raw.text(errors="replace")
    data: Any = text
    try:
        data = json.loads(text) if text else None
    except json.JSONDecodeError:
        pass
    raw.release()
    raise BackendAPIError(raw.status, raw.reason or "", data)


class Response:
    """An HTTP response (async methods)."""

    def __init__(self, session: BaseSession, raw: aiohttp.ClientResponse) -> None:
        self._session = session
        self._raw = raw

    @property
    def session(self) -> BaseSession:
        return self._session

    @property
    def status(self) -> int:
        return self._raw.status

    @property
    def reason(self) -> str:
        return self._raw.reason or ""

    @property
    def headers(self) -> Mapping[str, str]:
        return self._raw.headers

    @property
    def raw_response(self) -> aiohttp.ClientResponse:
        return self._raw

    @property
    def content_type(self) -> str:
        return self._raw.content_type

    @property
    def content_length(self) -> int | None:
        return self._raw.content_length

    @property
    def content(self) -> aiohttp.StreamReader:
        return self._raw.content

    async def text(self) -> str:
        return await self._raw.text()

    async def json(self, *, loads: Callable[[str], Any] = json.loads) -> Any:
        text = await self._raw.text()
        try:
            return loads(text) if text else None
        except ValueError as e:
            raise BackendClientError(f"the server sent invalid JSON: {e}") from None

    async def read(self, n: int = -1) -> bytes:
        return await self._raw.content.read(n)

    async def readall(self) -> bytes:
        return await self._raw.read()


class SyncResponse(Response):
    """The same response for code running outside the session's event loop."""

    def _run(self, coro: Any) -> Any:
        return self._session.worker_thread.execute(coro)  # type: ignore[attr-defined]

    def text(self) -> str:  # type: ignore[override]
        return self._run(Response.text(self))  # type: ignore[no-any-return]

    def json(self, *, loads: Callable[[str], Any] = json.loads) -> Any:  # type: ignore[override]
        return self._run(Response.json(self, loads=loads))

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return self._run(Response.read(self, n))  # type: ignore[no-any-return]

    def readall(self) -> bytes:  # type: ignore[override]
        return self._run(Response.readall(self))  # type: ignore[no-any-return]


class FetchContextManager:
    """What `Request.fetch()` returns: `async with` or (sync Session) `with`."""

    def __init__(self, session: BaseSession, send: Callable[[], Any], *, check_status: bool = True) -> None:
        self.session = session
        self._send = send
        self.check_status = check_status
        self._raw: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> Response:
        self._raw = await with_failover(self.session.config, self._send)
        if self.check_status:
            await raise_for_problem(self._raw)
        return Response(self.session, self._raw)

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._raw is not None:
            self._raw.release()
            self._raw = None

    def __enter__(self) -> SyncResponse:
        worker = self.session.worker_thread  # type: ignore[attr-defined]
        resp = worker.execute(self.__aenter__())
        return SyncResponse(self.session, resp.raw_response)

    def __exit__(self, *exc_info: Any) -> None:
        self.session.worker_thread.execute(self.__aexit__(*exc_info))  # type: ignore[attr-defined]


class WebSocketResponse:
    """A websocket: iterate for messages (aiohttp.WSMessage), send with send_str/send_json."""

    def __init__(self, session: BaseSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self._ws = ws

    @property
    def raw_websocket(self) -> aiohttp.ClientWebSocketResponse:
        return self._ws

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def close(self) -> None:
        await self._ws.close()

    def __aiter__(self) -> AsyncIterator[aiohttp.WSMessage]:
        return self._ws.__aiter__()

    def exception(self) -> BaseException | None:
        return self._ws.exception()

    async def send_str(self, raw_str: str) -> None:
        await self._ws.send_str(raw_str)

    send_text = send_str

    async def send_json(self, obj: Any) -> None:
        await self._ws.send_str(json.dumps(obj))

    async def send_bytes(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def receive_str(self) -> str:
        return await self._ws.receive_str()

    async def receive_json(self) -> Any:
        return json.loads(await self._ws.receive_str())

    async def receive_bytes(self) -> bytes:
        return await self._ws.receive_bytes()


class WebSocketContextManager:
    def __init__(self, session: BaseSession, connect: Callable[[], Any], *,
                 on_enter: Callable[[WebSocketResponse], Any] | None = None,
                 response_cls: type[WebSocketResponse] = WebSocketResponse) -> None:
        self.session = session
        self._connect = connect
        self._on_enter = on_enter
        self._response_cls = response_cls
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> WebSocketResponse:
        try:
            self._ws = await with_failover(self.session.config, self._connect)
        except aiohttp.WSServerHandshakeError as e:
            raise BackendAPIError(e.status, e.message, None) from e
        resp = self._response_cls(self.session, self._ws)
        if self._on_enter is not None:
            await self._on_enter(resp)
        return resp

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None


@dataclass
class SSEMessage:
    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEResponse(Response):
    """Iterate for SSEMessage items; the stream ends after the server's `server_close` event."""

    async def fetch_events(self) -> AsyncIterator[SSEMessage]:
        event, data, ev_id, retry = "message", [], None, None  # type: ignore[var-annotated]
        while True:
            line_b = await self._raw.content.readline()
            if not line_b:
                return
            line = line_b.decode("utf-8").rstrip("\r\n")
            if not line:
                if data or event != "message":
                    msg = SSEMessage(event, "\n".join(data), ev_id, retry)
                    yield msg
                    if msg.event == "server_close":
                        return
                event, data, ev_id, retry = "message", [], None, None
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                ev_id = value
            elif field == "retry" and value.isdigit():
                retry = int(value)

    def __aiter__(self) -> AsyncIterator[SSEMessage]:
        return self.fetch_events()


class SSEContextManager:
    def __init__(self, session: BaseSession, send: Callable[[], Any], *,
                 response_cls: type[SSEResponse] = SSEResponse) -> None:
        self.session = session
        self._send = send
        self._response_cls = response_cls
        self._raw: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> SSEResponse:
        self._raw = await with_failover(self.session.config, self._send)
        await raise_for_problem(self._raw)
        return self._response_cls(self.session, self._raw)

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None
