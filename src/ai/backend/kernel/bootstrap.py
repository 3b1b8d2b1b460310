"""Container preparation as root, then dropping to the kernel user for good.

The runner starts as root only to: add a passwd/group entry for the kernel uid/gid (so
`whoami`, HOME and shells work), hand /home/work to that user and run the image's
/opt/container/bootstrap.sh. Then it drops all privileges; when it is PID 1 it also forks a
tiny reaper that adopts orphaned processes and forwards termination signals.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("ai.backend.kernel.bootstrap")

IMAGE_BOOTSTRAP = Path("/opt/container/bootstrap.sh")
BOOTSTRAP_TIMEOUT = 60


def _has_id(path: Path, field_value: int) -> str | None:
    try:
        for line in path.read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2] == str(field_value):
                return parts[0]
    except OSError:
        pass
    return None


def _names(path: Path) -> set[str]:
    try:
        return {line.split(":", 1)[0] for line in path.read_text().splitlines() if line}
    except OSError:
        return set()


def ensure_user(uid: int, gid: int, *, name: str = "work", home: str = "/home/work", etc: Path = Path("/etc")) -> str:
    """Make uid/gid known to the image; returns the user name (an existing one if present)."""
    group_file, passwd_file = etc / "group", etc / "passwd"
    group_name = _has_id(group_file, gid)
    if group_name is None:
        group_name = name if name not in _names(group_file) else f"{name}{gid}"
        with open(group_file, "a") as f:
            f.write(f"{group_name}:x:{gid}:\n")
    user_name = _has_id(passwd_file, uid)
    if user_name is None:
        user_name = name if name not in _names(passwd_file) else f"{name}{uid}"
        shell = "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh"
        with open(passwd_file, "a") as f:
            f.write(f"{user_name}:x:{uid}:{gid}::{home}:{shell}\n")
    return user_name


def prepare_container(uid: int, gid: int, workdir: str) -> None:
    ensure_user(uid, gid, home=workdir)
    if os.path.isdir(workdir):
        os.chown(workdir, uid, gid)
    if IMAGE_BOOTSTRAP.is_file():
        log.info("running %s as root", IMAGE_BOOTSTRAP)
        try:
            subprocess.run(["/bin/sh", str(IMAGE_BOOTSTRAP)], timeout=BOOTSTRAP_TIMEOUT, check=False,
                           stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            log.error("%s did not return in %ds; continuing", IMAGE_BOOTSTRAP, BOOTSTRAP_TIMEOUT)


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise RuntimeError("failed to drop privileges")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise RuntimeError("privileges could be regained after dropping them")


def fork_reaper() -> None:
    """As PID 1: fork; the parent reaps every orphan until the runner (the child) exits."""
    pid = os.fork()
    if pid == 0:
        return

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)
    while True:
        try:
            wpid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if wpid == pid:
            sys.stdout.flush()
            os._exit(os.waitstatus_to_exitcode(status) % 256)
