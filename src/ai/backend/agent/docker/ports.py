"""Host ports for published container ports, from the configured [container] port-range.

With port-range = "auto" dockerd picks free ephemeral ports itself (handy when many test
agents share a host); the chosen ports are read back from the container afterwards.
"""

from __future__ import annotations

import random


class PortPoolExhausted(RuntimeError):
    pass


class PortPool:
    def __init__(self, port_range: tuple[int, int] | str) -> None:
        self.auto = isinstance(port_range, str)
        self._free: set[int] = set()
        if not isinstance(port_range, str):
            lo, hi = port_range
            self._free = set(range(int(lo), int(hi) + 1))
        self._used: set[int] = set()

    def acquire(self, count: int) -> list[int | None]:
        if self.auto:
            return [None] * count
        if len(self._free) < count:
            raise PortPoolExhausted(f"not enough free host ports in the port range ({len(self._free)} left, {count} needed)")
        picked = random.sample(sorted(self._free), count)
        self._free.difference_update(picked)
        self._used.update(picked)
        return list(picked)

    def release(self, ports: list[int | None] | list[int]) -> None:
        if self.auto:
            return
        for p in ports:
            if p is not None and p in self._used:
                self._used.discard(p)
                self._free.add(p)

    def mark_used(self, ports: list[int]) -> None:
        """Ports held by adopted containers (or taken by someone else on this host)."""
        if self.auto:
            return
        for p in ports:
            if p in self._free:
                self._free.discard(p)
                self._used.add(p)

    def quarantine(self, ports: list[int | None]) -> None:
        """Ports dockerd refused (taken outside our knowledge): never hand them out again."""
        if self.auto:
            return
        for p in ports:
            if p is not None:
                self._used.discard(p)
                self._free.discard(p)

    @property
    def free_count(self) -> int:
        return len(self._free)
