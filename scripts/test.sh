#!/usr/bin/env bash
# The whole test suite against real services: prepares the machine (scripts/prepare.sh), then
# runs `./pants test ::` with the halfstack addresses exported for the tests.
#   scripts/test.sh [extra pants test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prepare.sh
set -a
eval "$(scripts/halfstack.sh env)"
BACKEND_TEST_DOCKER=1
BACKEND_TEST_KERNEL_IMAGE=cr.backend.ai/stable/python:3.11-debian12
BACKEND_TEST_KRUNNER_DIR=$(scripts/fetch-krunner.sh)
BACKEND_TEST_OFFICIAL_CLIENT=$(scripts/official-client.sh)
BACKEND_TEST_XFS_VM=$(scripts/xfs-quota-vm.sh prepare)
set +a
exec ./pants test "${@:-::}"
