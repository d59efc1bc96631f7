# syntax=docker/dockerfile:1
# Ferry container image.   docker build -t ferry:latest .    (or: docker-compose build)
# Operator guide: docs/docker.md. test/ship/container.test.ts builds it with podman from a clean state and
# runs the container.
#
# Node 24 (Active LTS) is pinned by major; Ferry supports Node 22, 24 and 26. A rebuild picks up Node's patch
# releases. `pnpm start` and `pnpm test` fall back to this same major when the machine's Node is older than 22
# (scripts/node.sh).
ARG NODE_MAJOR=24

# ---------------------------------------------------------------- build: compile, bundle, prune
FROM node:${NODE_MAJOR}-bookworm-slim AS build
# node-gyp toolchain: argon2 and Ferry's native addon (packages/native) are compiled here, against this image's
# Node (better-sqlite3 13 ships prebuilt N-API binaries)
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# keep equal to "packageManager" in package.json
RUN npm install -g pnpm@10.34.9
WORKDIR /src
# Download every package of the lockfile in a layer that changes only with the lockfile.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
# Install offline from the packages fetched above, build, and deploy the server's production dependencies
# into /out (pnpm deploy reads registry metadata: the build needs the npm registry, no earlier build's cache).
RUN ["bash", "scripts/image-build.sh", "/out"]

# ---------------------------------------------------------------- runtime
FROM node:${NODE_MAJOR}-bookworm-slim AS runtime
# keep equal to "version" in package.json (test/ship checks it)
ARG FERRY_VERSION=0.1.0
LABEL org.opencontainers.image.title="Ferry" \
      org.opencontainers.image.description="Web-administered FTP server with live, stored session transcripts" \
      org.opencontainers.image.version="${FERRY_VERSION}"
# tini is PID 1: it forwards SIGTERM from `docker stop` to Node and reaps zombies.
# /data belongs to the unprivileged `node` user (uid 1000) that the official image provides; so does /srv/ferry-files,
# where several nodes mount their shared files folder (docs/cluster/docker-compose.yml: FERRY_HOME_ROOTS).
# `ferry <command>` (docker compose exec ferry ferry --help) runs Ferry's command line with the image's variables.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data /srv/ferry-files \
 && chown node:node /data /srv/ferry-files \
 && printf '#!/bin/sh\nexec node /app/apps/server/dist/main.js "$@"\n' > /usr/local/bin/ferry \
 && chmod 755 /usr/local/bin/ferry
# The application stays root-owned and read-only for the user that runs it.
COPY --from=build /out /app
WORKDIR /app
# FERRY_FTP_HOST: IPv4, which every Docker network has (Docker forwards IPv6 clients to it); Ferry's
# dual-stack default fails where the host has IPv6 switched off. FERRY_PASV_PORTS is smaller than
# Ferry's default: Docker publishes each port of a range one by one, and the range must be published
# with the same numbers (docs/docker.md).
ENV NODE_ENV=production \
    FERRY_DATA_DIR=/data \
    FERRY_FTP_HOST=0.0.0.0 \
    FERRY_FTP_PORT=2121 \
    FERRY_HTTP_HOST=0.0.0.0 \
    FERRY_HTTP_PORT=8080 \
    FERRY_PASV_PORTS=50000-50019
# FTP, admin site and REST API, implicit FTPS (only when FERRY_FTPS_PORT=990), passive data range
EXPOSE 2121 8080 990 50000-50019
VOLUME /data
USER node
# slim images have no curl: Node's fetch asks /healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FERRY_HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "apps/server/dist/main.js"]
