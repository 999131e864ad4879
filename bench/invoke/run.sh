#!/usr/bin/env bash
# Benchmark of the public invoke path: the data plane's public route (the runner's direct port,
# with an API key) and the API's compatibility route, against the direct port's internal route
# (no authentication: the ceiling) on the same warm instance; the API of BASELINE_REF (the API
# before this path: "today's") beside it; and `ignite invoke`'s wall time for one call beside curl's.
#
# Builds rust-hello (release), the sandbox launcher and the apps (tsc -b), and BASELINE_REF's
# apps/api into a temporary directory, then runs bench.mts with Node, which seeds an org, a key and
# an app into Postgres, starts the runner, the API and the baseline API as processes of their own,
# drives them with wrk, prints the figures and removes what it created.
#
# Needs Postgres (migrated) and Redis; uses DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/ignite)
# and REDIS_URL (default redis://127.0.0.1:6379). Settings (environment): DURATION (5s), WARMUP (2s),
# CONNECTIONS (32), ROUNDS (5), CLI_RUNS (15), BASE_PORT (18281), BASELINE_REF (8d59367, the last commit before this path; empty: none).
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

log "building rust-hello (release), the sandbox launcher and the apps"
cargo build --release --quiet --manifest-path "$ROOT/sdk/ignite-rs/Cargo.toml" -p rust-hello-bin
CARGO_TARGET_DIR="$CACHE/sandbox-target" cargo build --release --quiet --locked --manifest-path "$ROOT/apps/runner/sandbox/Cargo.toml"
mkdir -p "$ROOT/apps/runner/dist"
cp "$CACHE/sandbox-target/release/ignite-sandbox" "$ROOT/apps/runner/dist/"
(cd "$ROOT" && node node_modules/typescript/bin/tsc -b) || log "tsc reported errors (above): benchmarking what it emitted"

# The last commit before the public route: the API as the issue measured it (its figures are "today's").
BASELINE_REF="${BASELINE_REF-8d59367}"
if [ -n "$BASELINE_REF" ]; then
  # BASELINE_REF's API source, compiled against this checkout's packages (the API's own code is
  # what changed: its route, guard, lookups, log lines and upstream).
  BASELINE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ignite-baseline-api.XXXXXX")"
  trap 'rm -rf "$BASELINE_DIR"' EXIT
  git -C "$ROOT" archive "$BASELINE_REF" apps/api/src apps/api/tsconfig.json | tar -x -C "$BASELINE_DIR"
  ln -s "$ROOT/node_modules" "$BASELINE_DIR/node_modules"
  # The API's own dependencies that npm did not hoist.
  [ -d "$ROOT/apps/api/node_modules" ] && ln -s "$ROOT/apps/api/node_modules" "$BASELINE_DIR/apps/api/node_modules"
  cat >"$BASELINE_DIR/tsconfig.json" <<JSON
{ "extends": "$ROOT/tsconfig.base.json", "compilerOptions": { "rootDir": "apps/api/src", "outDir": "apps/api/dist", "composite": false, "incremental": false, "declaration": false, "declarationMap": false, "types": ["node"] }, "include": ["apps/api/src"], "exclude": ["apps/api/src/**/*.spec.ts", "apps/api/src/e2e"] }
JSON
  (cd "$BASELINE_DIR" && node "$ROOT/node_modules/typescript/bin/tsc" -p tsconfig.json >/dev/null) || log "the baseline API compiled with type errors against today's packages: benchmarking what tsc emitted"
  [ -f "$BASELINE_DIR/apps/api/dist/main.js" ] || { log "the baseline API was not built"; exit 1; }
  export BASELINE_API_MAIN="$BASELINE_DIR/apps/api/dist/main.js"
fi

node "$HERE/bench.mts"
