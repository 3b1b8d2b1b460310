"""Background task progress as Server-Sent Events (`/events/background-task`)."""

from __future__ import annotations

import uuid

from ..request import Request, SSEContextManager
from .base import BaseFunction, resolve_session

__all__ = ("BackgroundTask",)


class BackgroundTask(BaseFunction):
    """Follow one background task, e.g. the `task_id` of `Image.rescan_images()`."""

    def __init__(self, task_id: str | uuid.UUID) -> None:
        self.task_id = uuid.UUID(str(task_id))

    def listen_events(self) -> SSEContextManager:
        """`bgtask_updated` ... then one of `bgtask_done` / `bgtask_failed` / `bgtask_cancelled`."""
        rqst = Request("GET", "/events/background-task", params={"taskId": str(self.task_id)},
                       session=resolve_session(self))
        return rqst.connect_events()
