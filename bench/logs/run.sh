#!/usr/bin/env bash
# Benchmark of function logs: direct-port throughput of a handler logging one line per request
# against the same handler logging nothing (goal >= 0.9), and the follow latency from eprintln!
# to a follower of `GET …/logs/follow` (goal p50 <= 200 ms). See bench.mts.
#
# Builds log-bench (release), the sandbox launcher and the apps (tsc -b), then runs bench.mts
# with Node, which seeds an org, a key and two apps into Postgres, starts the runner and the API,
# drives them with wrk, prints the figures and removes what it created.
#
# Needs Postgres (migrated) and Redis; uses DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/ignite)
# and REDIS_URL (default redis://127.0.0.1:6379). Settings (environment): DURATION (5s), WARMUP (2s),
# CONNECTIONS (32), ROUNDS (5), FOLLOW_RUNS (50), BASE_PORT (18381), PROFILE_DIR (CPU profiles of the runner and API).
# This is a benchmark, not a test: it fails only if something cannot run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE_DIR="$(ls -d "$ROOT"/.tools/node-24.* 2>/dev/null | head -1)/bin"
[ -d "$NODE_DIR" ] && export PATH="$NODE_DIR:$PATH"
CACHE="${IGNITE_CACHE_HOME:-$HOME/.cache/ignite}"

log() { echo "[bench] $*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi

log "building log-bench (release), the sandbox launcher and the apps"
cargo build --release --quiet --manifest-path "$ROOT/sdk/ignite-rs/Cargo.toml" -p log-bench
CARGO_TARGET_DIR="$CACHE/sandbox-target" cargo build --release --quiet --locked --manifest-path "$ROOT/apps/runner/sandbox/Cargo.toml"
mkdir -p "$ROOT/apps/runner/dist"
cp "$CACHE/sandbox-target/release/ignite-sandbox" "$ROOT/apps/runner/dist/"
(cd "$ROOT" && node node_modules/typescript/bin/tsc -b) || log "tsc reported errors (above): benchmarking what it emitted"

node "$HERE/bench.mts"
