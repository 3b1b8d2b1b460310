"""Container statistics from the cgroup files of the container's processes, or the Docker API.

The cgroup reader finds the container's cgroups through /proc/PID/cgroup, so it works with
the cgroupfs and systemd drivers and with cgroup v1 and v2. Network counters come from the
container's network namespace (/proc/PID/net/dev).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..stats import metric

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cgroup_paths(pid: int, root: Path = CGROUP_ROOT) -> dict[str, Path]:
    """controller -> cgroup directory; the key "" is the unified (v2) hierarchy."""
    paths: dict[str, Path] = {}
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if controllers == "":
            paths[""] = root / rel.lstrip("/")
        for c in controllers.split(","):
            if c and not c.startswith("name="):
                paths[c] = root / c / rel.lstrip("/")
    return paths


def net_counters(pid: int) -> tuple[int, int]:
    rx = tx = 0
    try:
        lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        iface, _, data = line.partition(":")
        if iface.strip() == "lo":
            continue
        cols = data.split()
        if len(cols) >= 9:
            rx += int(cols[0])
            tx += int(cols[8])
    return rx, tx


def _blkio_v1(path: Path) -> tuple[int, int]:
    read = write = 0
    try:
        for line in (path / "blkio.throttle.io_service_bytes").read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "Read":
                read += int(parts[2])
            elif len(parts) == 3 and parts[1] == "Write":
                write += int(parts[2])
    except (OSError, ValueError):
        pass
    return read, write


def _io_v2(path: Path) -> tuple[int, int]:
    read = write = 0
    try:
        for line in (path / "io.stat").read_text().splitlines():
            for field in line.split()[1:]:
                k, _, v = field.partition("=")
                if k == "rbytes":
                    read += int(v)
                elif k == "wbytes":
                    write += int(v)
    except (OSError, ValueError):
        pass
    return read, write


def read_cgroup_stat(pid: int, cores: int, root: Path = CGROUP_ROOT) -> dict[str, Any] | None:
    paths = cgroup_paths(pid, root)
    if not paths:
        return None
    if "memory" in paths:  # cgroup v1
        mem = _read_int(paths["memory"] / "memory.usage_in_bytes")
        mem_max = _read_int(paths["memory"] / "memory.max_usage_in_bytes")
        limit = _read_int(paths["memory"] / "memory.limit_in_bytes")
        cpu_ns = _read_int(paths.get("cpuacct", paths.get("cpu", Path("/nonexistent"))) / "cpuacct.usage")
        io_read, io_write = _blkio_v1(paths["blkio"]) if "blkio" in paths else (0, 0)
    elif "" in paths:  # cgroup v2
        base = paths[""]
        mem = _read_int(base / "memory.current")
        mem_max = _read_int(base / "memory.peak")
        limit = _read_int(base / "memory.max")
        cpu_ns = None
        try:
            for line in (base / "cpu.stat").read_text().splitlines():
                k, v = line.split()
                if k == "usage_usec":
                    cpu_ns = int(v) * 1000
        except (OSError, ValueError):
            pass
        io_read, io_write = _io_v2(base)
    else:
        return None
    rx, tx = net_counters(pid)
    return {
        "cpu_used": metric((cpu_ns or 0) / 1_000_000, "msec"),
        "mem": metric(mem or 0, "bytes", limit, max=mem_max),
        "net_rx": metric(rx, "bytes"),
        "net_tx": metric(tx, "bytes"),
        "io_read": metric(io_read, "bytes"),
        "io_write": metric(io_write, "bytes"),
        "cpu_count": metric(cores, "count"),
    }


def parse_docker_stat(raw: dict[str, Any], cores: int) -> dict[str, Any]:
    """The same metrics from a Docker API stats snapshot (stats-type = "docker")."""
    mem = raw.get("memory_stats") or {}
    cpu = (raw.get("cpu_stats") or {}).get("cpu_usage") or {}
    rx = sum(n.get("rx_bytes", 0) for n in (raw.get("networks") or {}).values())
    tx = sum(n.get("tx_bytes", 0) for n in (raw.get("networks") or {}).values())
    io_read = io_write = 0
    for entry in (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            io_read += int(entry.get("value", 0))
        elif op == "write":
            io_write += int(entry.get("value", 0))
    return {
        "cpu_used": metric(int(cpu.get("total_usage", 0)) / 1_000_000, "msec"),
        "mem": metric(int(mem.get("usage", 0)), "bytes", mem.get("limit"), max=mem.get("max_usage")),
        "net_rx": metric(rx, "bytes"),
        "net_tx": metric(tx, "bytes"),
        "io_read": metric(io_read, "bytes"),
        "io_write": metric(io_write, "bytes"),
        "cpu_count": metric(cores, "count"),
    }
