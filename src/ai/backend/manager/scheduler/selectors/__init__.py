"""Agent selectors: which agent receives a kernel (or a whole single-node cluster)."""

from __future__ import annotations

from typing import Any

from .base import AbstractAgentSelector
from .concentrated import ConcentratedAgentSelector
from .dispersed import DispersedAgentSelector
from .roundrobin import RoundRobinAgentSelector

SELECTORS: dict[str, type[AbstractAgentSelector]] = {
    "concentrated": ConcentratedAgentSelector,
    "dispersed": DispersedAgentSelector,
    "roundrobin": RoundRobinAgentSelector,
}


def load_selector(name: str, opts: dict[str, Any] | None = None) -> AbstractAgentSelector:
    try:
        cls = SELECTORS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown agent selector {name!r} (choose from {', '.join(SELECTORS)})") from None
    return cls(opts or {})
