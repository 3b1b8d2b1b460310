"""Typed events over Redis: anycast on streams with consumer groups, broadcast on pub/sub."""

from .base import AbstractEvent, EventDelivery, event_class_for
from .bus import EventDispatcher, EventHandler, EventProducer

__all__ = [
    "AbstractEvent",
    "EventDelivery",
    "EventDispatcher",
    "EventHandler",
    "EventProducer",
    "event_class_for",
]
