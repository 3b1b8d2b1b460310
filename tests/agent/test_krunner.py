"""Unpacking the krunner runtime from its wheel (the cached one; no network here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ai.backend.agent.docker import krunner


@pytest.fixture
def cached_wheel() -> Path:
    whl = krunner.find_wheel(krunner.cache_root() / "krunner" / "wheels", "4.4.0")
    assert whl is not None, "run scripts/fetch-krunner.sh once (it caches the wheel)"
    return whl


def test_unpacks_a_runnable_runtime_from_the_wheel(cached_wheel: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_CACHE_DIR", str(tmp_path / "cache"))
    wheels = tmp_path / "cache" / "krunner" / "wheels"
    wheels.mkdir(parents=True)
    shutil.copy(cached_wheel, wheels)
    target = krunner.ensure_krunner_sync(None, "4.4.0")
    assert target == krunner.default_krunner_dir("4.4.0")
    assert krunner.is_runtime(target)
    out = subprocess.run([str(target / "bin" / "python3"), "-c", "import zmq, sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(3, 13)"
    site = krunner.site_packages(target)
    assert (site / "ai" / "backend" / "kernel").is_dir()  # the mount point for our runner
    assert krunner.ensure_krunner_sync(None, "4.4.0") == target  # second time: nothing to do
    assert not list(target.parent.glob(".unpack-*"))


def test_a_missing_wheel_for_an_unknown_version_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_CACHE_DIR", str(tmp_path))
    with pytest.raises(krunner.KrunnerUnavailable, match="cannot download backend.ai-krunner-static-gnu==0.0.0"):
        krunner.ensure_krunner_sync(None, "0.0.0")
