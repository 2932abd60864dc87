#!/usr/bin/env bash
# CI gate for the protocol contracts: buf lint, buf breaking against the parent
# commit, and "the committed generated code is exactly what buf generates now".
set -euo pipefail
cd "$(dirname "$0")/../.."
buf=node_modules/.bin/buf

echo "buf lint"
(cd proto && "../$buf" lint)

if git rev-parse --verify --quiet HEAD~1 >/dev/null && git cat-file -e HEAD~1:proto/buf.yaml 2>/dev/null; then
  echo "buf breaking (against HEAD~1)"
  (cd proto && "../$buf" breaking --against '../.git#ref=HEAD~1,subdir=proto')
else
  echo "buf breaking: skipped (no parent commit with proto/ to compare against)"
fi

echo "buf generate + diff"
(cd proto && "../$buf" generate)
if ! git diff --exit-code --stat -- libs/contracts/src/gen ||
  [ -n "$(git status --porcelain --untracked-files=all -- libs/contracts/src/gen)" ]; then
  echo "libs/contracts/src/gen differs from what proto/ generates: run \`npm run codegen\` and commit the result." >&2
  git status --short -- libs/contracts/src/gen >&2
  exit 1
fi
echo "generated code is up to date"
