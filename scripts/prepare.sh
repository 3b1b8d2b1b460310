#!/usr/bin/env bash
# Everything both README commands need first: system packages, Pants and its exported
# virtualenv, the halfstack, dockerd, the default kernel image and the krunner runtime.
# Idempotent: each step skips itself when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/bootstrap-pants.sh
# Re-export the virtualenv behind ./py whenever python.lock changes.
lock_hash=$(sha256sum python.lock | cut -c1-16)
if [ "$(cat .tmp/export.stamp 2>/dev/null)" != "$lock_hash" ] || ! ./py -c 'import aiohttp' 2>/dev/null; then
  echo "[prepare] exporting the python-default virtualenv (./py)"
  ./pants export --resolve=python-default >/dev/null
  mkdir -p .tmp && echo "$lock_hash" > .tmp/export.stamp
fi
scripts/halfstack.sh start
scripts/dockerd.sh
scripts/build-kernel-image.sh
scripts/fetch-krunner.sh >/dev/null
scripts/official-client.sh >/dev/null
scripts/xfs-quota-vm.sh prepare >/dev/null   # a KVM/TCG guest with XFS project quotas (tests)
