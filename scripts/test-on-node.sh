#!/usr/bin/env bash
# Runs the test suite on a given Node major, in this checkout: Node comes from the npm registry's
# node-linux-<arch> package (scripts/node.sh). The native modules are N-API builds (better-sqlite3's
# prebuilds, argon2), so the same node_modules serve every supported major. Arguments after the major go
# to vitest, e.g. the unit and integration projects only:
#   bash scripts/test-on-node.sh 26 --project '@ferry/*' --project server --project web
set -euo pipefail
major=${1:?usage: scripts/test-on-node.sh MAJOR [vitest args...]}
shift
cd "$(dirname "$0")/.."
source scripts/node.sh
ferry_use_node "$major"
echo "::: tests on node $(node -v)"
exec bash scripts/test.sh "$@"
