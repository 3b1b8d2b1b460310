"""The volumes this proxy serves, built from the [volume.NAME] sections."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import VolumeNotFound
from .abc import AbstractVolume, VolumeInitError

log = logging.getLogger(__name__)


class VolumePool:
    def __init__(self, volumes: Mapping[str, AbstractVolume]) -> None:
        self._volumes = dict(volumes)

    @classmethod
    def from_config(cls, volume_config: Mapping[str, Mapping[str, Any]], *,
                    owner: tuple[int, int] | None = None) -> VolumePool:
        from . import BACKENDS

        volumes: dict[str, AbstractVolume] = {}
        for name, cfg in volume_config.items():
            backend = BACKENDS.get(cfg["backend"])
            if backend is None:
                raise VolumeInitError(
                    f"volume {name!r}: unknown backend {cfg['backend']!r} (one of: {', '.join(sorted(BACKENDS))})"
                )
            volumes[name] = backend(name, Path(cfg["path"]), cfg.get("options", {}), owner=owner)
        return cls(volumes)

    async def init(self) -> None:
        for vol in self._volumes.values():
            await vol.init()
            log.info("volume %s: %s backend at %s", vol.name, vol.backend, vol.path)

    async def shutdown(self) -> None:
        for vol in self._volumes.values():
            await vol.shutdown()

    def get(self, name: str) -> AbstractVolume:
        try:
            return self._volumes[name]
        except KeyError:
            raise VolumeNotFound(f"volume {name!r} is not served by this storage proxy") from None

    def __iter__(self) -> Iterator[AbstractVolume]:
        return iter(self._volumes.values())

    def names(self) -> list[str]:
        return list(self._volumes)
