import dataclasses
import uuid

import pytest

from ai.backend.common import msgpack
from ai.backend.common.events import (
    AbstractEvent,
    EventDelivery,
    agent,
    bgtask,
    event_class_for,
    kernel,
    session,
)

CATALOG = [
    cls
    for module in (agent, bgtask, kernel, session)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, AbstractEvent) and "name" in cls.__dict__
]


def _sample(cls: type[AbstractEvent]) -> AbstractEvent:
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        values[f.name] = uuid.uuid4() if "id" in f.name and f.name != "agent_id" else "x"
    return cls(**values)


def test_catalog_is_complete() -> None:
    names = {cls.name for cls in CATALOG}
    for expected in ("kernel_started", "kernel_terminated", "agent_heartbeat", "session_enqueued",
                     "session_terminated", "do_schedule", "bgtask_done"):
        assert expected in names


@pytest.mark.parametrize("cls", CATALOG, ids=lambda c: c.name)
def test_every_event_round_trips_through_msgpack(cls: type[AbstractEvent]) -> None:
    ev = _sample(cls)
    back = event_class_for(cls.name).deserialize(msgpack.unpackb(msgpack.packb(ev.serialize())))  # type: ignore[union-attr]
    assert back == ev
    assert cls.delivery & (EventDelivery.ANYCAST | EventDelivery.BROADCAST)


def test_session_events_reach_both_the_scheduler_and_streams() -> None:
    assert kernel.KernelStartedEvent.delivery == EventDelivery.ANYCAST | EventDelivery.BROADCAST
    assert session.SessionTerminatedEvent.delivery == EventDelivery.ANYCAST | EventDelivery.BROADCAST
    assert agent.AgentHeartbeatEvent.delivery == EventDelivery.ANYCAST
