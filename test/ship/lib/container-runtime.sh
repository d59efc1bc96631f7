#!/bin/sh
# TEST-ONLY OCI runtime for test/ship/container.test.ts: `podman run --runtime <this file>`.
#
# It works around two properties of the test machine, then runs the real runtime (crun, else runc) with
# the same arguments. Not for production use.
#  1. Its kernel refuses the resource limits podman asks for, so every start fails with "setrlimit
#     `RLIMIT_NOFILE`: Operation not permitted". The wrapper removes them (process.rlimits in the bundle's
#     config.json on create/run; rlimits in the process file of exec, which `podman healthcheck run`
#     uses); the container keeps the limits it inherits.
#  2. Its cgroups are mounted in hybrid mode with a controller (hugetlb) on the cgroup v2 hierarchy, which
#     crun refuses ("cgroups in hybrid mode not supported") even with `podman run --cgroups disabled`.
#     The wrapper then runs the runtime in a private mount namespace without /sys/fs/cgroup/unified, where
#     crun sees plain cgroup v1. The host's mounts are not touched.
set -eu
if [ -z "${FERRY_RUNTIME_UNSHARED:-}" ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
  export FERRY_RUNTIME_UNSHARED=1
  exec unshare --mount --propagation private "$0" "$@"
fi
if [ -n "${FERRY_RUNTIME_UNSHARED:-}" ]; then umount -l /sys/fs/cgroup/unified; fi
real="${FERRY_OCI_RUNTIME:-}"
if [ -z "$real" ]; then
  for candidate in /usr/bin/crun /usr/bin/runc /usr/sbin/runc /usr/local/bin/crun /usr/local/bin/runc; do
    if [ -x "$candidate" ]; then real=$candidate && break; fi
  done
fi
[ -n "$real" ] || { echo "container-runtime.sh: no crun or runc found" >&2; exit 127; }

# the first word that is an OCI command, and the files it reads
command="" bundle="" process="" previous=""
for arg in "$@"; do
  case "$previous" in
    --bundle | -b) bundle=$arg ;;
    --process | -p) process=$arg ;;
  esac
  case "$arg" in
    --bundle=*) bundle=${arg#--bundle=} ;;
    --process=*) process=${arg#--process=} ;;
  esac
  if [ -z "$command" ]; then
    case "$arg" in create | run | exec) command=$arg ;; esac
  fi
  previous=$arg
done
if [ "$command" != exec ] && [ -z "$bundle" ]; then bundle=.; fi

# rlimits entries are flat objects ({"type":"RLIMIT_NOFILE","hard":…,"soft":…}), so `[^]]*` spans the list
without_rlimits() {
  sed -e 's/"rlimits":[[:space:]]*\[[^]]*\][[:space:]]*,//g' -e 's/,[[:space:]]*"rlimits":[[:space:]]*\[[^]]*\]//g' "$1" >"$1.ferry-tmp"
  mv "$1.ferry-tmp" "$1"
}
case "$command" in
  create | run) if [ -f "$bundle/config.json" ]; then without_rlimits "$bundle/config.json"; fi ;;
  exec) if [ -n "$process" ] && [ -f "$process" ]; then without_rlimits "$process"; fi ;;
esac
exec "$real" "$@"
