#!/usr/bin/env bash
# `pnpm test`: a supported Node (scripts/node.sh), the system tools the end-to-end tests drive, a build,
# then every vitest project (packages, server, web, e2e) and one "N passed, N failed" line. A test file
# that fails to load or whose set-up fails counts as failed there, never as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
ferry_use_node
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

# chromium, lftp, curl, openssl, and inetutils ftp, tnftp and ncftp (client interop): the end-to-end tests need them. podman and debootstrap: the container image
# test (test/ship) builds and runs the real image with them, and says so when this machine cannot. iproute2,
# iptables and python3: the NAT lab (test/nat-lab), which needs root too and says so when it cannot run.
missing=() optional=()
[ -x "$CHROMIUM_PATH" ] || missing+=(chromium)
for tool in lftp curl openssl inetutils-ftp tnftp ncftp; do command -v "$tool" >/dev/null || missing+=("$tool"); done
for tool in podman debootstrap iptables python3; do command -v "$tool" >/dev/null || optional+=("$tool"); done
# make, g++ and python3: node-gyp builds Ferry's native addon (packages/native) in `pnpm build`; its tests need it.
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v python3 >/dev/null || missing+=(python3)
command -v ip >/dev/null || optional+=(iproute2)
# haproxy: Ferry behind a load balancer with the PROXY protocol (test/ftp/load-balancer); in /usr/sbin, often not on PATH.
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
# postgresql: the database package tests its stores on PostgreSQL too, in a throwaway cluster of its own (scripts/postgres-cluster.mjs).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# ruby and Perl's IO::Socket::SSL: FTPS uploads from Ruby's net-ftp and Perl's Net::FTP (test/ftp/ftps-uploads).
command -v ruby >/dev/null || missing+=(ruby)
perl -MIO::Socket::SSL -e 1 2>/dev/null || missing+=(libio-socket-ssl-perl)
if [ $((${#missing[@]} + ${#optional[@]})) -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]} ${optional[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" "${optional[@]}" >/dev/null
elif [ ${#missing[@]} -gt 0 ]; then
  echo "missing tools: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

pnpm build
report="$(mktemp)"
rc=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || rc=$?
node scripts/test-summary.mjs "$report" || rc=1
rm -f "$report"
exit $rc
