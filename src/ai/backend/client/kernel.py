"""Legacy import path: `ai.backend.client.kernel.Kernel` is the ComputeSession function class."""

from .func.session import ComputeSession, StreamPty
from .func.session import ComputeSession as Kernel

__all__ = ("ComputeSession", "Kernel", "StreamPty")
