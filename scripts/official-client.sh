#!/usr/bin/env bash
# Builds (once) a separate virtualenv with the official Backend.AI client 23.9.10, which our
# manager must serve unchanged, and prints the path of its `backend.ai` executable.
# yarl is pinned on the client side only: newer yarl breaks that client's request signing.
#
#   scripts/official-client.sh      prints the executable's path on its last line
set -euo pipefail
VERSION="${OFFICIAL_CLIENT_VERSION:-23.9.10}"
CACHE="${BACKEND_CACHE_DIR:-$HOME/.cache/backend.ai}"
VENV="$CACHE/official-client-$VERSION"
EXE="$VENV/bin/backend.ai"

ready() { [ -x "$EXE" ] && "$VENV/bin/python" -c 'import ai.backend.client.cli.main' 2>/dev/null; }

if ! ready; then
  mkdir -p "$CACHE"
  exec 9>"$VENV.lock"
  flock 9          # several worktrees / CI jobs may ask at once
  if ! ready; then
    echo "[official-client] installing backend.ai-client==$VERSION into $VENV" >&2
    PY=$(command -v python3.11 || true)
    if [ -z "$PY" ] && command -v pyenv >/dev/null; then
      PY="$(pyenv root)/versions/$(pyenv versions --bare | grep '^3\.11' | sort -V | tail -1)/bin/python3.11"
    fi
    [ -n "$PY" ] && [ -x "$PY" ] || { echo "[official-client] python3.11 not found" >&2; exit 1; }
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    PIP_CONFIG_FILE=/dev/null "$VENV/bin/pip" install -q --disable-pip-version-check \
      --index-url https://pypi.org/simple/ --cert /etc/ssl/certs/ca-certificates.crt \
      "backend.ai-client==$VERSION" "yarl==1.9.4" >&2
  fi
fi
echo "$EXE"
