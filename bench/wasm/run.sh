#!/usr/bin/env bash
# Benchmark of the runner's wasm instances next to its native ones: cold starts (first invocation
# of a published release, artifact on disk), warm latency and throughput. See bench.mts.
#
# Builds rust-hello twice from the same source: natively (sdk/ignite-rs/fixtures/rust-hello-bin,
# release) and as a wasm32-wasip2 component (the wasm toolchain, provisioned first if needed, and
# the compile worker's profile: apps/runner/src/wasm/testing/build-component.ts), builds the
# runner (tsc -b apps/runner), then runs bench.mts with Node. Needs no database.
# Settings (environment): COLD_RUNS (30), WARM_REQUESTS (5000), DURATION_MS (5000),
# WARM_INSTANCES (number of CPUs).
# This is a benchmark, not a test: it fails only if something cannot run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE_DIR="$ROOT/.tools/node-24.21.0/bin"
[ -d "$NODE_DIR" ] && export PATH="$NODE_DIR:$PATH"
log() { echo "[bench] $*" >&2; }

log "making sure the wasm toolchain is provisioned"
node --disable-warning=ExperimentalWarning -e "import('$ROOT/scripts/platform/toolchains.mts').then((m) => m.ensureWasmToolchain())"

log "building the runner"
if ! (cd "$ROOT" && node node_modules/typescript/bin/tsc -b apps/runner); then
  log "tsc reported errors (above): benchmarking what it emitted"
fi

log "building rust-hello (native, release) and its component (wasm32-wasip2)"
cargo build --release --quiet --manifest-path "$ROOT/sdk/ignite-rs/Cargo.toml" -p rust-hello-bin
HELLO_BIN="${CARGO_TARGET_DIR:-$ROOT/sdk/ignite-rs/target}/release/rust-hello-bin"
HELLO_WASM="$(cd "$ROOT" && node -e "process.stdout.write(require('./apps/runner/dist/wasm/testing/build-component.js').buildComponent('rust-hello'))")"
export HELLO_BIN HELLO_WASM

exec node --disable-warning=ExperimentalWarning "$HERE/bench.mts"
