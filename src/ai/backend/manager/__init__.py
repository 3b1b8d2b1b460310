"""The Backend.AI manager: the cluster's API gateway and source of truth."""

from pathlib import Path

try:
    __version__ = (Path(__file__).parents[4] / "VERSION").read_text().strip()
except OSError:  # installed without the repository's VERSION file
    __version__ = "23.09.0"
