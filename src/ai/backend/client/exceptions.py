"""Typed errors of the client SDK.

`BackendAPIError` means the server answered with a non-2xx status (its problem+json body
is kept in `data`); `BackendClientError` means no usable answer arrived at all (network,
timeout, malformed reply). Catch `BackendError` for both.
"""

from __future__ import annotations

from typing import Any

__all__ = (
    "BackendError",
    "BackendAPIError",
    "BackendClientError",
    "BackendAPIVersionError",
    "APIVersionWarning",
)


class BackendError(Exception):
    """Any error raised by the SDK."""


class BackendAPIError(BackendError):
    """A non-2xx response: `status`, `reason` and the decoded problem+json `data`."""

    def __init__(self, status: int, reason: str, data: Any) -> None:
        super().__init__(status, reason, data)

    @property
    def status(self) -> int:
        return int(self.args[0])

    @property
    def reason(self) -> str:
        return str(self.args[1])

    @property
    def data(self) -> Any:
        return self.args[2]

    @property
    def title(self) -> str | None:
        return self.data.get("title") if isinstance(self.data, dict) else None

    @property
    def msg(self) -> str | None:
        return self.data.get("msg") if isinstance(self.data, dict) else None

    def __str__(self) -> str:
        detail = self.msg or self.title or (self.data if isinstance(self.data, str) else None)
        text = f"{self.status} {self.reason}"
        return f"{text}: {detail}" if detail else text


class BackendClientError(BackendError):
    """The request could not be completed (connection refused, timeout, bad response)."""


class BackendAPIVersionError(BackendError):
    """The server does not speak an API version this function needs."""


class APIVersionWarning(UserWarning):
    """The server's API version differs from what this client was written for."""
