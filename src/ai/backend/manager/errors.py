"""Errors that become RFC 7807 problem+json responses.

Services raise these; the exception middleware renders them as
`{"type": "https://api.backend.ai/probs/<slug>", "title": ..., "msg"?: ..., "data"?: ...}`
with the class's HTTP status. Anything else that escapes a handler is a bug (500).
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://api.backend.ai/probs/"


class BackendError(Exception):
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "internal-server-error"
    error_title: ClassVar[str] = "Internal server error"

    def __init__(self, msg: str | None = None, *, data: Any = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(msg or self.error_title)
        self.msg = msg
        self.data = data
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_BASE + self.error_type, "title": self.error_title}
        if self.msg:
            body["msg"] = self.msg
        if self.data is not None:
            body["data"] = self.data
        body.update(self.extra)
        return body

    def __str__(self) -> str:
        return self.msg or self.error_title


# 400
class InvalidAPIParameters(BackendError):
    status_code = 400
    error_type = "invalid-api-params"
    error_title = "Missing or invalid API parameters."


class GenericBadRequest(BackendError):
    status_code = 400
    error_type = "generic-bad-request"
    error_title = "Bad request."


class UnsupportedAPIVersion(BackendError):
    status_code = 400
    error_type = "unsupported-api-version"
    error_title = "Unsupported API version."


class GraphQLError(BackendError):
    status_code = 400
    error_type = "graphql-error"
    error_title = "GraphQL-generated error."


# 401
class AuthorizationFailed(BackendError):
    status_code = 401
    error_type = "unauthorized"
    error_title = "Credential/signature mismatch."


class AuthenticationRequired(AuthorizationFailed):
    error_title = "Authorization header is missing."


# 403
class Forbidden(BackendError):
    status_code = 403
    error_type = "forbidden"
    error_title = "Forbidden."


class InsufficientPrivilege(Forbidden):
    error_type = "insufficient-privilege"
    error_title = "Insufficient privilege."


# 404
class ObjectNotFound(BackendError):
    status_code = 404
    error_type = "object-not-found"
    error_title = "No such object."

    def __init__(self, msg: str | None = None, *, object_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(msg or (f"No such {object_name}." if object_name else None), **kwargs)


class VFolderNotFound(ObjectNotFound):
    error_type = "vfolder-not-found"
    error_title = "Virtual folder not found."


class SessionNotFound(ObjectNotFound):
    error_type = "session-not-found"
    error_title = "No such session."


class NotFoundRoute(BackendError):
    status_code = 404
    error_type = "not-found"
    error_title = "Unknown URL path."


# 405, 409
class MethodNotAllowed(BackendError):
    status_code = 405
    error_type = "method-not-allowed"
    error_title = "HTTP Method Not Allowed."


class Conflict(BackendError):
    status_code = 409
    error_type = "conflict"
    error_title = "The request conflicts with the current state."


class VFolderAlreadyExists(Conflict):
    error_type = "vfolder-already-exists"
    error_title = "Virtual folder already exists."


class VFolderBusy(Conflict):
    error_type = "vfolder-busy"
    error_title = "The virtual folder is in use or not ready for this operation."


class SessionAlreadyExists(Conflict):
    error_type = "session-already-exists"
    error_title = "The session already exists but you requested not to reuse existing one."


# 412, 413
class TooManyPendingSessions(BackendError):
    status_code = 412
    error_type = "too-many-pending-sessions"
    error_title = "The keypair has too many pending sessions."



class QuotaExceeded(BackendError):
    status_code = 413
    error_type = "quota-exceeded"
    error_title = "The storage quota would be exceeded."


# 429
class RateLimitExceeded(BackendError):
    status_code = 429
    error_type = "too-many-requests"
    error_title = "Rate limit exceeded."


# 5xx
class InternalServerError(BackendError):
    pass


class ServerFrozen(BackendError):
    status_code = 503
    error_type = "server-frozen"
    error_title = "The server is frozen due to maintenance. Please try again later."


class ServiceUnavailable(BackendError):
    status_code = 503
    error_type = "service-unavailable"
    error_title = "A backing service is unavailable."


# Per-session operations that need the kernel on its agent.
class SessionNotRunning(Conflict):
    error_type = "invalid-session-state"
    error_title = "The session is not in a state that allows this operation."


class KernelNotRunning(Conflict):
    error_type = "kernel-not-running"
    error_title = "The session's kernel is not running on its agent."


class AgentTimeout(BackendError):
    status_code = 504
    error_type = "agent-timeout"
    error_title = "The agent did not answer in time."


class AgentFailure(BackendError):
    status_code = 502
    error_type = "agent-error"
    error_title = "The agent could not carry out the request."
