#!/usr/bin/env bash
# The README's test command (`npm test`): makes sure dependencies and the local
# infrastructure are there (both idempotent, seconds when warm), builds, and runs
# every unit, integration and e2e test. Extra arguments go to run-tests.mjs
# (e.g. `npm test -- libs/grpc`).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x node_modules/.bin/tsc ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund
fi
echo "==> infrastructure"
bash tools/infra/infra.sh up
# The tests read where everything runs from these variables (port overrides included).
eval "$(bash tools/infra/infra.sh env)"
echo "==> build"
node_modules/.bin/tsc -b tsconfig.json
echo "==> tests"
node tools/test/run-tests.mjs "$@"
