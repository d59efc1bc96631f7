#!/usr/bin/env bash
# `pnpm start [-- ARGS]`: a supported Node (scripts/node.sh), a build, then Ferry in the foreground.
# `pnpm start --help` prints the usage and the configuration variables.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
ferry_use_node
pnpm build
exec node apps/server/dist/main.js "$@"
