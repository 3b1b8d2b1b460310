"""Session sequencers: which pending session a scheduling pass tries next."""

from __future__ import annotations

from typing import Any

from .base import AbstractSequencer
from .drf import DRFSequencer
from .fifo import FIFOSequencer
from .lifo import LIFOSequencer

SEQUENCERS: dict[str, type[AbstractSequencer]] = {
    "fifo": FIFOSequencer,
    "lifo": LIFOSequencer,
    "drf": DRFSequencer,
}


def load_sequencer(name: str, opts: dict[str, Any] | None = None) -> AbstractSequencer:
    try:
        cls = SEQUENCERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown scheduler {name!r} (choose from {', '.join(SEQUENCERS)})") from None
    return cls(opts or {})
