"""Background task progress events (the `/events/background-task` stream)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .base import AbstractEvent, EventDelivery


@dataclass
class BgtaskEvent(AbstractEvent):
    task_id: uuid.UUID
    message: str | None = None
    delivery = EventDelivery.BROADCAST


@dataclass
class BgtaskUpdatedEvent(BgtaskEvent):
    name = "bgtask_updated"
    current_progress: float = 0
    total_progress: float = 0


@dataclass
class BgtaskDoneEvent(BgtaskEvent):
    name = "bgtask_done"


@dataclass
class BgtaskFailedEvent(BgtaskEvent):
    name = "bgtask_failed"


@dataclass
class BgtaskCancelledEvent(BgtaskEvent):
    name = "bgtask_cancelled"
