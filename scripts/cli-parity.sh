#!/usr/bin/env bash
# Runs the CLI parity scenarios (tests/client/cli/test_parity.py): our `backend.ai` and the
# official client 23.9.10 against the same real manager/storage proxy/agent, and prints
# each step side by side (SAME/DIFF, normalized results and both raw outputs).
#   scripts/cli-parity.sh [-k EXPR]      e.g. -k vfolder
set -euo pipefail
cd "$(dirname "$0")/.."
set -a
eval "$(scripts/halfstack.sh env)"
BACKEND_TEST_OFFICIAL_CLIENT=$(scripts/official-client.sh)
BACKEND_TEST_KRUNNER_DIR=${BACKEND_TEST_KRUNNER_DIR:-$(scripts/fetch-krunner.sh)}
BACKEND_CLI_PARITY_SHOW=1
set +a
exec ./py -m pytest tests/client/cli/test_parity.py -q -s -p no:cacheprovider "$@"
