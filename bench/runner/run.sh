#!/usr/bin/env bash
# Benchmark of apps/runner: warm-invocation overhead against the same program hit directly,
# cold starts of freshly published releases, and many functions sharing few warm slots.
#
# Builds rust-hello (sdk/ignite-rs/fixtures/rust-hello-bin, release mode) and the runner
# (tsc -b apps/runner), then runs bench.mts with Node, which seeds apps into Postgres, starts the
# compiled runner as its own process, drives it (and the instance directly) with wrk, prints the
# figures and removes what it created.
#
# Needs Postgres (migrated) and Redis; uses DATABASE_URL (default the dev database
# postgresql://postgres@127.0.0.1:5432/ignite) and REDIS_URL (default redis://127.0.0.1:6379).
# Settings (environment): DURATION (5s), WARMUP (2s), CONNECTIONS (32), ROUNDS (9),
# COLD_RUNS (30), ANNOUNCED_DELAY_MS (50), FUNCTIONS (200), WARM_SLOTS (50), RR_CONNECTIONS (16),
# RUNNER_PORT (18181), SANDBOX_ENV (JSON: more settings of the sandboxed runner), MAX_STEAL (0.02: the rounds in which the hypervisor took at most this share
# of the CPU get a ratio of their own).
# This is a benchmark, not a test: it fails only if something cannot run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE_DIR="$ROOT/.tools/node-24.21.0/bin"
[ -d "$NODE_DIR" ] && export PATH="$NODE_DIR:$PATH"

log() { echo "[bench] $*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
  fi
fi

log "building rust-hello (release) and the runner"
cargo build --release --quiet --manifest-path "$ROOT/sdk/ignite-rs/Cargo.toml" -p rust-hello-bin
mkdir -p "$ROOT/apps/runner/dist"
CARGO_TARGET_DIR="${IGNITE_CACHE_HOME:-$HOME/.cache/ignite}/sandbox-target" cargo build --release --quiet --locked --manifest-path "$ROOT/apps/runner/sandbox/Cargo.toml"
cp "${IGNITE_CACHE_HOME:-$HOME/.cache/ignite}/sandbox-target/release/ignite-sandbox" "$ROOT/apps/runner/dist/"
if ! (cd "$ROOT" && node node_modules/typescript/bin/tsc -b apps/runner); then
  # tsc still emits; a type error elsewhere in the workspace should not stop a measurement.
  log "tsc reported errors (above): benchmarking what it emitted"
fi
[ -f "$ROOT/apps/runner/dist/main.js" ] || { log "apps/runner/dist/main.js was not built"; exit 1; }

exec node "$HERE/bench.mts"
