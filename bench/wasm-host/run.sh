#!/usr/bin/env bash
# Benchmark of ignite-wasm-host (apps/runner/wasm-host): the host's instantiation figures
# (examples/instantiation.rs), then warm throughput and latency of the host serving rust-hello
# next to the same handler built natively, with wrk on 1 and 32 keep-alive connections.
#
# Builds the host (release), the rust-hello component (the compile worker's manifest and
# profile, cached) precompiled for the host, and rust-hello natively (the SDK workspace). The
# host serves TCP here (IGNITE_HOST_LISTEN_ADDR) with a tmpfs scratch directory, as /scratch is
# in the sandbox. With 2+ CPUs each server is pinned to CPU 0 and wrk to CPU 1.
# Settings (environment): DURATION (5s), ROUNDS (3), HOST_PORT (18580), NATIVE_PORT (18590).
# A benchmark, not a test: it fails only if something cannot run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CRATE="$ROOT/apps/runner/wasm-host"
CACHE="${IGNITE_CACHE_HOME:-$HOME/.cache/ignite}"
export CARGO_TARGET_DIR="${WASM_HOST_TARGET_DIR:-$CACHE/wasm-host-target}"
DURATION="${DURATION:-5s}"
ROUNDS="${ROUNDS:-3}"
HOST_PORT="${HOST_PORT:-18580}"
NATIVE_PORT="${NATIVE_PORT:-18590}"
log() { echo "[bench] $*" >&2; }

command -v wrk >/dev/null 2>&1 || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

log "building the host and its examples (release)"
cargo build --release --quiet -j 2 --manifest-path "$CRATE/Cargo.toml" --bin ignite-wasm-host --examples
HOST_BIN="$CARGO_TARGET_DIR/release/ignite-wasm-host"
CWASM="$("$CARGO_TARGET_DIR/release/examples/fixture" rust-hello)"
log "rust-hello precompiled: $CWASM"
log "building rust-hello natively"
SDK_TARGET="${IGNITE_SDK_TARGET_DIR:-$CACHE/sdk-target}"
CARGO_TARGET_DIR="$SDK_TARGET" cargo build --release --quiet -j 2 --manifest-path "$ROOT/sdk/ignite-rs/Cargo.toml" -p rust-hello-bin
NATIVE_BIN="$SDK_TARGET/release/rust-hello-bin"

SCRATCH="$(mktemp -d /dev/shm/ignite-wasm-host-bench.XXXXXX)"
SERVER_PIN=() CLIENT_PIN=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then SERVER_PIN=(taskset -c 0) CLIENT_PIN=(taskset -c 1); fi
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$SCRATCH"; }
trap cleanup EXIT

log "instantiation (in process, the host's own figures)"
BENCH_SCRATCH="$SCRATCH/instantiation" "$CARGO_TARGET_DIR/release/examples/instantiation" "$CWASM" 5000

env -i PATH=/usr/bin:/bin IGNITE_HOST_LISTEN_ADDR="127.0.0.1:$HOST_PORT" IGNITE_COMPONENT="$CWASM" \
  IGNITE_FUNCTION_ID=org/hello IGNITE_RELEASE=1 IGNITE_TIME_LIMIT_MS=10000 IGNITE_MEMORY_LIMIT_MB=128 \
  IGNITE_TEMP_DIR="$SCRATCH/host" "${SERVER_PIN[@]}" "$HOST_BIN" serve 2>"$SCRATCH/host.log" &
PIDS+=($!)
PORT="$NATIVE_PORT" IGNITE_PROBE_PORT="$((NATIVE_PORT + 1))" IGNITE_FUNCTION_ID=org/hello \
  IGNITE_TEMP_DIR="$SCRATCH/native" "${SERVER_PIN[@]}" "$NATIVE_BIN" 2>/dev/null &
PIDS+=($!)
for port in "$HOST_PORT" "$NATIVE_PORT"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" -d '{}' && break; sleep 0.05; done
done

# "rps p50" of one wrk run.
measure() {
  local port="$1" connections="$2" output rps p50
  output="$("${CLIENT_PIN[@]}" wrk -t1 -c"$connections" -d"$DURATION" --latency -s "$ROOT/bench/sdk-serve-loop/post.lua" "http://127.0.0.1:$port/")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$output")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$output")"
  echo "$rps $p50"
}

for connections in 1 32; do
  for round in $(seq "$ROUNDS"); do
    read -r wasm_rps wasm_p50 < <(measure "$HOST_PORT" "$connections")
    read -r native_rps native_p50 < <(measure "$NATIVE_PORT" "$connections")
    ratio="$(awk -v a="$wasm_rps" -v b="$native_rps" 'BEGIN { printf "%.3f", a / b }')"
    echo "c=$connections round $round: wasm host $wasm_rps req/s (p50 $wasm_p50), native $native_rps req/s (p50 $native_p50), ratio $ratio"
  done
done
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
grep "^host - stopped" "$SCRATCH/host.log" || true
