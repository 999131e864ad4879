# syntax=docker/dockerfile:1
#
# One image for the platform's Node services. The first argument picks the role:
#
#   docker build -f docker/platform.Dockerfile -t ignite/platform:dev .
#   docker run ignite/platform:dev api              # apps/api        (HTTP 8080)
#   docker run ignite/platform:dev compile-worker   # apps/compile-worker
#   docker run ignite/platform:dev runner           # apps/runner     (HTTP 8081, direct connections 8082)
#   docker run ignite/platform:dev migrate          # prisma migrate deploy (DATABASE_URL)
#
# Build context: the repository root (docker/platform.Dockerfile.dockerignore keeps it small).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUST_IMAGE=rust:1.93-bookworm
# The wasm host's Wasmtime 48 needs Rust 1.95.
ARG WASM_HOST_RUST_IMAGE=rust:1.95-bookworm

# ---- build: install, generate the Prisma client, compile, drop dev dependencies ----------------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# Exactly the locked versions; install scripts run (Prisma fetches its engines for this platform).
RUN npm ci --no-audit --no-fund
RUN npx prisma generate
# The three services and the packages they reference (not the CLI, not the test project).
RUN npx tsc -b apps/api apps/compile-worker apps/runner
# The web console, which the API serves at /console (apps/console/dist; its packages are build-time only).
RUN npx tsc -p apps/console && (cd apps/console && npx vite build)
RUN npm prune --omit=dev --no-audit --no-fund

# ---- the runner's sandbox launcher (apps/runner/sandbox, Rust), for the same glibc as the runtime --
FROM ${RUST_IMAGE} AS sandbox
WORKDIR /src
COPY apps/runner/sandbox ./
RUN cargo build --release --locked && cp target/release/ignite-sandbox /ignite-sandbox

# ---- the wasm host (apps/runner/wasm-host, Wasmtime): the runner serves wasm releases with it and
# the compile worker precompiles components with it (one binary: the same engine configuration) --
FROM ${WASM_HOST_RUST_IMAGE} AS wasm-host
WORKDIR /src
COPY apps/runner/wasm-host ./
RUN cargo build --release --locked --bin ignite-wasm-host && cp target/release/ignite-wasm-host /ignite-wasm-host

# ---- the Prisma CLI for the migrate role, on its own (it is a dev dependency of the repository) --
FROM ${NODE_IMAGE} AS prisma-cli
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/prisma
COPY package.json /tmp/repository-package.json
RUN version="$(node -p "require('/tmp/repository-package.json').devDependencies.prisma")" \
 && echo '{"name":"ignite-migrate","private":true}' > package.json \
 && npm install --no-audit --no-fund --save-exact "prisma@${version}"
COPY docker/migrate/prisma.config.ts /opt/prisma/prisma.config.ts

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# openssl: Prisma's engines; tini: PID 1 that forwards signals and reaps the runner's children;
# util-linux (prlimit) is part of the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/ignite \
 && chown node:node /var/lib/ignite
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
# Where the runner looks for it (RUNNER_SANDBOX_LAUNCHER's default).
COPY --from=sandbox /ignite-sandbox ./apps/runner/dist/ignite-sandbox
COPY --from=wasm-host /ignite-wasm-host ./apps/runner/dist/ignite-wasm-host
COPY --from=build /app/prisma ./prisma
# The bundled SDK: the compile worker writes its path into prepared manifests (IGNITE_SDK_PATH).
COPY --from=build /app/sdk/ignite-rs ./sdk/ignite-rs
COPY --from=prisma-cli /opt/prisma /opt/prisma
COPY docker/platform-entrypoint.sh /usr/local/bin/ignite-entrypoint
ENV NODE_ENV=production \
    IGNITE_DATA_DIR=/var/lib/ignite
# The unprivileged user of the official Node image (uid/gid 1000), as the chart runs it.
USER node
EXPOSE 8080 8081 8082
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/ignite-entrypoint"]
CMD ["api"]
