# syntax=docker/dockerfile:1
#
# The compile image: what each build pod of the kubernetes executor runs
# (apps/compile-worker/src/executors/kubernetes, K8S_BUILD_IMAGE).
#
#   docker build -f docker/compile.Dockerfile -t registry.example.com/ignite/compile:1.93 .
#
# - Rust 1.93 with x86_64-unknown-linux-gnu and wasm32-wasip2; the toolchain's own bin/ first on
#   PATH (no rustup proxy: the pod's root file system is read-only).
# - The bundled SDK workspace at /opt/ignite/sdk/ignite-rs (K8S_SDK_PATH_IN_IMAGE points at its
#   `ignite` crate).
# - A seed at /opt/ignite/seed: the cargo home (registry index and crates) and the target directory
#   of a function as the compile worker prepares it (docker/compile/bake), built for both targets
#   with the platform's release profiles. It is made at /work/cargo-home and /work/target, the very
#   paths a build pod uses, so that once the pod copies it into its /work volume cargo finds ignite,
#   serde, serde_json, tokio and their dependencies fresh and compiles only the user's crate (and
#   what it adds; the registry stays reachable for that).
# - An unprivileged user 1000 (the Job runs as 1000:1000), curl, tar, sha256sum.
#
# Build context: the repository root (docker/compile.Dockerfile.dockerignore keeps it small).
# Rebuild it when the SDK changes, and regularly: crates newer than the seed are compiled per build.

ARG RUST_IMAGE=rust:1.93-bookworm
FROM ${RUST_IMAGE}

RUN rustup target add wasm32-wasip2 \
 && mkdir -p /opt/ignite/seed \
 && ln -s "$(dirname "$(dirname "$(rustup which rustc)")")" /opt/ignite/toolchain \
 && apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 ignite \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /work/home --shell /usr/sbin/nologin ignite \
 && mkdir -p /work \
 && chown 1000:1000 /work /opt/ignite/seed

ENV PATH=/opt/ignite/toolchain/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_TERM_COLOR=never

COPY sdk/ignite-rs /opt/ignite/sdk/ignite-rs
COPY docker/compile/bake /opt/ignite/bake

USER 1000:1000
ENV HOME=/work/home \
    CARGO_HOME=/work/cargo-home \
    CARGO_TARGET_DIR=/work/target
# The prepared function for each target, built where a pod builds (/work/src), then moved aside.
RUN set -eu; \
    rustc --version; \
    for pair in native:x86_64-unknown-linux-gnu wasm:wasm32-wasip2; do \
      name="${pair%%:*}"; triple="${pair#*:}"; \
      rm -rf /work/src; \
      mkdir -p /work/src; \
      cp -r /opt/ignite/bake/source/src /work/src/src; \
      cp -r "/opt/ignite/bake/${name}/." /work/src/; \
      if [ "$name" = wasm ]; then what="--lib"; else what="--bin ignite-function"; fi; \
      (cd /work/src && cargo build --release $what --target "$triple"); \
    done; \
    rm -f /work/target/*/release/ignite-function /work/target/*/release/ignite_bake.wasm; \
    mv /work/cargo-home /opt/ignite/seed/cargo-home; \
    mv /work/target /opt/ignite/seed/target; \
    rm -rf /work/src /work/home

WORKDIR /work
