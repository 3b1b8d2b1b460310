"""Legacy import path: `ai.backend.client.kernel.Kernel` is the ComputeSession function class."""

from .func.session import ComputeSession, ComputeSession as Kernel, StreamPty

__all__ = ("ComputeSession", "Kernel", "StreamPty")
