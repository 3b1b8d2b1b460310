"""The event base class: a dataclass with a wire name and a delivery mode."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar, Self


class EventDelivery(enum.Flag):
    """ANYCAST: exactly one member of each consumer group handles it (acknowledged after the
    handler succeeds). BROADCAST: every live subscriber sees it (fire and forget)."""

    ANYCAST = enum.auto()
    BROADCAST = enum.auto()


_registry: dict[str, type[AbstractEvent]] = {}


class AbstractEvent:
    """Subclass as a dataclass and set `name`; fields must be msgpack-able (see common.msgpack)."""

    name: ClassVar[str]
    delivery: ClassVar[EventDelivery] = EventDelivery.ANYCAST

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if isinstance(name, str):
            other = _registry.get(name)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise TypeError(f"event name {name!r} is used by {other.__qualname__} already")
            _registry[name] = cls

    def serialize(self) -> dict[str, Any]:
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} must be a dataclass")
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


def event_class_for(name: str) -> type[AbstractEvent] | None:
    return _registry.get(name)
