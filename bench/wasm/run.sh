#!/usr/bin/env bash
# Benchmark of wasm releases served by the wasm host (apps/runner/wasm-host) through the runner,
# next to the same handler native on the runner's direct port: warm latency and throughput, cold
# starts of freshly published components (announced, not announced, not precompiled), the hosts'
# instantiation figures, the memory of idle hosts. See bench.mts.
#
# Builds rust-hello twice from the same source: natively (sdk/ignite-rs/fixtures/rust-hello-bin,
# release) and as a wasm32-wasip2 component (the wasm toolchain, provisioned first if needed, and
# the compile worker's manifest and profile: packages/testing/src/wasm-component.ts), the wasm host
# and the sandbox launcher into apps/runner/dist, and the runner (tsc -b), then runs bench.mts with
# Node, which seeds apps into Postgres, starts the compiled runner as its own process (sandboxed),
# drives it with wrk, prints the figures and removes what it created.
#
# Needs Postgres (migrated) and Redis: DATABASE_URL and REDIS_URL (defaults: the dev services).
# Settings (environment): DURATION (5s), WARMUP (2s), CONNECTIONS (32), ROUNDS (3), COLD_RUNS (30),
# COMPILE_RUNS (5), ANNOUNCED_DELAY_MS (200), IDLE_HOSTS (100), RUNNER_PORT (18281); the wasm host's
# cargo target directory WASM_HOST_TARGET_DIR (default ~/.cache/ignite/wasm-host-target: another
# checkout's work tree can keep its own).
# This is a benchmark, not a test: it fails only if something cannot run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${IGNITE_CACHE_HOME:-$HOME/.cache/ignite}"
NODE_DIR="$ROOT/.tools/node-24.21.0/bin"
[ -d "$NODE_DIR" ] && export PATH="$NODE_DIR:$PATH"
log() { echo "[bench] $*" >&2; }

command -v wrk >/dev/null 2>&1 || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

log "making sure the wasm toolchain is provisioned; building the sandbox launcher, the wasm host and the runner"
node --disable-warning=ExperimentalWarning -e "
  const root = '$ROOT', cache = '$CACHE';
  Promise.all([import(root + '/scripts/platform/toolchains.mts'), import(root + '/scripts/platform/steps.mts')]).then(async ([t, s]) => {
    await t.ensureWasmToolchain(cache);
    await s.buildSandboxLauncher(root, cache + '/sandbox-target');
    await s.buildWasmHost(root, '${WASM_HOST_TARGET_DIR:-$CACHE/wasm-host-target}');
  })"
if ! (cd "$ROOT" && node node_modules/typescript/bin/tsc -b apps/runner packages/testing); then
  log "tsc reported errors (above): benchmarking what it emitted"
fi

log "building rust-hello (native, release) and its component (wasm32-wasip2)"
SDK_TARGET="${IGNITE_SDK_TARGET_DIR:-$CACHE/sdk-target}"
CARGO_TARGET_DIR="$SDK_TARGET" cargo build --release --quiet --manifest-path "$ROOT/sdk/ignite-rs/Cargo.toml" -p rust-hello-bin
HELLO_BIN="$SDK_TARGET/release/rust-hello-bin"
HELLO_WASM="$(cd "$ROOT" && node -e "process.stdout.write(require('./packages/testing/dist/wasm-component.js').buildComponent('rust-hello'))")"
export HELLO_BIN HELLO_WASM

exec node --disable-warning=ExperimentalWarning "$HERE/bench.mts"
