#!/usr/bin/env bash
# Python from the exported virtualenv (./pants export --resolve=python-default) with src/ on the path.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV=$(ls -d "$ROOT"/dist/export/python/virtualenvs/python-default/3.11.* 2>/dev/null | sort -V | tail -1)
if [ -z "$VENV" ] || [ ! -x "$VENV/bin/python" ]; then
  echo "no exported virtualenv; run: ./pants export --resolve=python-default (or scripts/dev-up.sh)" >&2
  exit 1
fi
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" "$@"
