#!/usr/bin/env bash
# Starts dockerd (Debian's docker.io) in the background unless a daemon already answers.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker
if "$DOCKER" info >/dev/null 2>&1; then echo "[dockerd] running"; exit 0; fi
command -v dockerd >/dev/null || { echo "[dockerd] dockerd missing: run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p .tmp
echo "[dockerd] starting (log: .tmp/dockerd.log)"
setsid nohup dockerd >.tmp/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 150); do
  if "$DOCKER" info >/dev/null 2>&1; then echo "[dockerd] running"; exit 0; fi
  sleep 0.2
done
echo "[dockerd] did not come up; see .tmp/dockerd.log" >&2
tail -20 .tmp/dockerd.log >&2
exit 1
