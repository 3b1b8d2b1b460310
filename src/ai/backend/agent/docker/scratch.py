"""Per-kernel scratch space on the host: work/ is /home/work, config/ is /home/config (ro)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


def prepare_scratch(
    root: Path,
    kernel_id: str,
    *,
    uid: int,
    gid: int,
    bootstrap_script: str | None,
    resource_slots: dict[str, str],
    ssh_keypair: dict[str, str] | None,
) -> Path:
    base = root / kernel_id
    work, config = base / "work", base / "config"
    work.mkdir(parents=True, exist_ok=True)
    config.mkdir(parents=True, exist_ok=True)
    os.chown(work, uid, gid)
    os.chmod(work, 0o755)
    (config / "resource.json").write_text(json.dumps(resource_slots) + "\n")
    if bootstrap_script:
        path = config / "bootstrap.sh"
        path.write_text(bootstrap_script)
        os.chmod(path, 0o755)
    if ssh_keypair and ssh_keypair.get("private_key"):
        ssh = config / "ssh"
        ssh.mkdir(exist_ok=True)
        (ssh / "id_cluster").write_text(ssh_keypair["private_key"])
        (ssh / "id_cluster.pub").write_text(ssh_keypair.get("public_key", ""))
        for p in (ssh, ssh / "id_cluster", ssh / "id_cluster.pub"):
            os.chown(p, uid, gid)
        os.chmod(ssh / "id_cluster", 0o600)
    return base


def remove_scratch(root: Path, kernel_id: str) -> None:
    base = root / kernel_id
    if base.parent == root and base.exists():
        shutil.rmtree(base, ignore_errors=True)


def scratch_mounts(base: Path) -> list[dict[str, Any]]:
    return [
        {"Type": "bind", "Source": str(base / "work"), "Target": "/home/work", "ReadOnly": False},
        {"Type": "bind", "Source": str(base / "config"), "Target": "/home/config", "ReadOnly": True},
    ]
