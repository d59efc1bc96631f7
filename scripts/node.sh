#!/usr/bin/env bash
# Ferry runs on Node.js 22 or newer. This script makes sure the `node` on PATH is one:
#
#   bash scripts/node.sh CMD [ARGS...]     run CMD with a supported Node first on PATH
#   source scripts/node.sh                 the same for the calling script (ferry_use_node [MAJOR])
#
# The machine's own Node is used when it is new enough. When it is older (or FERRY_NODE_MAJOR asks for a
# given major), Node comes from the npm registry's node-linux-<arch> package, is unpacked into
# node_modules/.cache/ferry-node/<major>/ inside this repository, and is put first on PATH for this
# command only, with one line saying so. The system's Node is never replaced. The fallback major is the
# Docker image's (Dockerfile: ARG NODE_MAJOR), so a laptop runs what production runs.

FERRY_NODE_MIN_MAJOR=22

ferry_repo_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

# ferry_fetch_node MAJOR -> prints the directory holding bin/node (and include/node for node-gyp)
ferry_fetch_node() {
  local major=$1 root arch dir fetch
  root="$(ferry_repo_root)"
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "node.sh: no Node package for $(uname -m) on the npm registry; install Node $FERRY_NODE_MIN_MAJOR+ yourself" >&2; return 1 ;;
  esac
  dir="$root/node_modules/.cache/ferry-node/$major"
  if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/include/node/node_api.h" ]; then
    command -v npm >/dev/null || { echo "node.sh: npm is needed to fetch Node $major from the npm registry" >&2; return 1; }
    fetch="$(mktemp -d "${TMPDIR:-/tmp}/ferry-node-XXXXXX")"
    if ! (cd "$fetch" && npm pack "node-linux-$arch@$major" --silent >/dev/null && tar -xzf node-linux-*.tgz); then
      rm -rf "$fetch"
      echo "node.sh: could not fetch node-linux-$arch@$major from the npm registry" >&2
      return 1
    fi
    mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && mv "$fetch/package" "$dir" && rm -rf "$fetch"
  fi
  printf '%s\n' "$dir"
}

# ferry_use_node [MAJOR]: without MAJOR, keep a supported system Node or fall back to the image's major.
ferry_use_node() {
  local want=${1:-${FERRY_NODE_MAJOR:-}} have="" dir why
  if command -v node >/dev/null; then have="$(node -p 'process.versions.node' 2>/dev/null || true)"; fi
  if [ -z "$want" ]; then
    if [ -n "$have" ] && [ "${have%%.*}" -ge "$FERRY_NODE_MIN_MAJOR" ]; then return 0; fi
    want="$(sed -n 's/^ARG NODE_MAJOR=\([0-9]*\).*/\1/p' "$(ferry_repo_root)/Dockerfile" | head -1)"
    why="Node ${have:-(none)} is older than $FERRY_NODE_MIN_MAJOR"
  else
    [ "${have%%.*}" = "$want" ] && return 0
    why="Node $want asked for"
  fi
  dir="$(ferry_fetch_node "$want")" || return 1
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir" # node-gyp: this Node's headers, never a download
  hash -r
  echo "$why: using Node $(node -v) from the npm registry (${dir#"$(ferry_repo_root)/"}) for Ferry only; the system's Node is unchanged" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ferry_use_node
  exec "$@"
fi
