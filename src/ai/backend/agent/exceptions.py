"""Errors the agent raises to RPC callers; the class name travels as RPCError.type."""

from __future__ import annotations


class AgentError(Exception):
    pass


class KernelNotFound(AgentError, LookupError):
    pass


class KernelNotRunning(AgentError):
    """The kernel exists but cannot take this request in its current status."""


class KernelCreationFailed(AgentError):
    pass


class ImageNotAvailable(AgentError):
    """The image is not on this node and could not be pulled."""


class InvalidArgument(AgentError, ValueError):
    pass


class AgentNotReady(AgentError):
    pass
