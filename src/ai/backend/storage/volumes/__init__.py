"""Volume backends, chosen per [volume.NAME] by its `backend` key."""

from __future__ import annotations

from .abc import AbstractVolume
from .vfs import VfsVolume
from .xfs import XfsVolume

BACKENDS: dict[str, type[AbstractVolume]] = {
    VfsVolume.backend: VfsVolume,
    XfsVolume.backend: XfsVolume,
}
