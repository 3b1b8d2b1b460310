#!/usr/bin/env bash
# Installs Pants 2.17.1 into .pants-venv (Python 3.9, the newest Pants on PyPI needs <=3.9)
# and builds the pex CLI locally from PyPI, because Pants would otherwise fetch it from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PANTS_VERSION=2.17.1
PEX_VERSION=2.1.137
PY39="${PY39:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions/3.9.18/bin/python3.9}"
export PIP_CONFIG_FILE=/dev/null   # the machine-wide pip config pins constraints that break pex
CA=/etc/ssl/certs/ca-certificates.crt

if [ ! -x .pants-venv/bin/pants ] || [ "$(cat .pants-venv/.pants-version 2>/dev/null)" != "$PANTS_VERSION" ]; then
  echo "[bootstrap] installing pantsbuild.pants==$PANTS_VERSION into .pants-venv"
  rm -rf .pants-venv
  "$PY39" -m venv .pants-venv
  .pants-venv/bin/pip install -q --cert "$CA" "pantsbuild.pants==$PANTS_VERSION" "pex==$PEX_VERSION"
  echo "$PANTS_VERSION" > .pants-venv/.pants-version
fi

if [ ! -f "tools/pex-v$PEX_VERSION" ]; then
  echo "[bootstrap] building tools/pex-v$PEX_VERSION from PyPI"
  mkdir -p tools
  .pants-venv/bin/pex "pex==$PEX_VERSION" -c pex -o "tools/pex-v$PEX_VERSION" \
    --python-shebang '/usr/bin/env python' --no-strip-pex-env --include-tools --no-compile \
    --no-use-system-time --disable-cache --no-build --cert "$CA"
fi
echo "[bootstrap] pants $PANTS_VERSION ready"
