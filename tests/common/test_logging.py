import logging
from pathlib import Path

from ai.backend.common.config import check, logging_config_iv
from ai.backend.common.logging import setup_logging


def test_file_driver_and_package_levels(tmp_path: Path) -> None:
    cfg = check(logging_config_iv, {
        "level": "INFO",
        "drivers": ["file"],
        "pkg-ns": {"": "WARNING", "ai.backend": "INFO", "noisy.lib": "ERROR"},
        "file": {"path": str(tmp_path / "logs"), "filename": "svc.log", "rotation-size": "1m"},
    })
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(cfg, service="test")
        logging.getLogger("ai.backend.test").info("hello from ai.backend")
        logging.getLogger("noisy.lib").warning("suppressed warning")
        logging.getLogger("noisy.lib").error("kept error")
        for h in logging.getLogger().handlers:
            h.flush()
        text = (tmp_path / "logs" / "svc.log").read_text()
        assert "hello from ai.backend" in text
        assert "kept error" in text
        assert "suppressed warning" not in text
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        logging.getLogger("noisy.lib").setLevel(logging.NOTSET)
