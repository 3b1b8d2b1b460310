"""Logging set up from a service's [logging] section (level, drivers, per-package levels).

Secrets never go to logs: callers log keys and ids, not secret keys or passwords.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_VERBOSE = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
_SIMPLE = "%(levelname)s %(name)s %(message)s"
_COLORS = {"DEBUG": "\x1b[2m", "INFO": "\x1b[36m", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}


class _ColorFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        color = _COLORS.get(record.levelname)
        return f"{color}{text}\x1b[0m" if color else text


def setup_logging(config: Mapping[str, Any] | None, *, debug: bool = False, service: str = "backend.ai") -> None:
    """Configure the root logger; `config` is the validated [logging] section (or None)."""
    cfg = dict(config or {})
    level = "DEBUG" if debug else cfg.get("level", "INFO")
    drivers = cfg.get("drivers", ["console"])
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(level)

    if "console" in drivers:
        console = cfg.get("console") or {}
        fmt = _VERBOSE if console.get("format", "verbose") == "verbose" else _SIMPLE
        handler = logging.StreamHandler(sys.stderr)
        colored = console.get("colored", True) and sys.stderr.isatty()
        handler.setFormatter(_ColorFormatter(fmt) if colored else logging.Formatter(fmt))
        root.addHandler(handler)
    if "file" in drivers and cfg.get("file"):
        fcfg = cfg["file"]
        path = Path(fcfg["path"])
        path.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            path / fcfg["filename"],
            maxBytes=int(fcfg.get("rotation-size", 10 * 1024 * 1024)),
            backupCount=int(fcfg.get("backup-count", 5)),
        )
        fh.setFormatter(logging.Formatter(_VERBOSE if fcfg.get("format", "verbose") == "verbose" else _SIMPLE))
        root.addHandler(fh)

    pkg_levels: Mapping[str, str] = cfg.get("pkg-ns", {"": "WARNING", "ai.backend": "INFO"})
    for ns, ns_level in pkg_levels.items():
        logger = logging.getLogger(ns or None)
        if ns:
            logger.setLevel("DEBUG" if debug and ns.startswith("ai.backend") else ns_level)
    if debug:
        logging.getLogger("ai.backend").setLevel("DEBUG")
    logging.getLogger(__name__).debug("logging configured for %s", service)
