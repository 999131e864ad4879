#!/usr/bin/env bash
# Benchmark of the Ignite Rust SDK's native serve loop against a bare hyper 1.x server.
#
# Builds, in release mode, (a) the rust-hello function as the platform compiles it
# (sdk/ignite-rs/fixtures/rust-hello-bin) and (b) bare-hyper/, a minimal hyper server that does
# the same work. Then drives each with wrk (same threads, connections and duration), in
# alternating rounds, and prints requests/s, p50 and p99 latency for each and the throughput
# ratio ignite / bare (goal: >= 0.90).
#
# Settings (environment): DURATION (10s), WARMUP (2s), CONNECTIONS (32), THREADS (1),
# ROUNDS (3). With 2+ CPUs the server is pinned to CPU 0 and wrk to CPU 1 (so each server runs
# one tokio worker thread and the load generator never competes with it); PIN=0 disables this.
# This is a benchmark, not a test: it only fails if a server cannot start or answers non-2xx.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SDK="$ROOT/sdk/ignite-rs"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
ROUNDS="${ROUNDS:-3}"
PIN="${PIN:-1}"
IGNITE_PORT="${IGNITE_PORT:-18480}"
BARE_PORT="${BARE_PORT:-18490}"

log() { echo "[bench] $*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
  fi
fi

log "building rust-hello (ignite) and bare-hyper in release mode"
cargo build --release --locked --quiet --manifest-path "$SDK/Cargo.toml" -p rust-hello-bin
cargo build --release --locked --quiet --manifest-path "$HERE/bare-hyper/Cargo.toml"
IGNITE_BIN="${CARGO_TARGET_DIR:-$SDK/target}/release/rust-hello-bin"
BARE_BIN="${CARGO_TARGET_DIR:-$HERE/bare-hyper/target}/release/bare-hyper"

SERVER_PIN=()
CLIENT_PIN=()
if [ "$PIN" = "1" ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  SERVER_PIN=(taskset -c 0)
  CLIENT_PIN=(taskset -c 1)
  log "pinning: server on CPU 0, wrk on CPU 1"
fi

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

start_server() { # name
  local name="$1" port
  if [ "$name" = ignite ]; then
    port="$IGNITE_PORT"
    PORT="$port" IGNITE_PROBE_PORT="$((port + 1))" IGNITE_FUNCTION_ID=org/hello \
      "${SERVER_PIN[@]}" "$IGNITE_BIN" 2>/dev/null &
  else
    port="$BARE_PORT"
    PORT="$port" IGNITE_FUNCTION_ID=org/hello "${SERVER_PIN[@]}" "$BARE_BIN" 2>/dev/null &
  fi
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  log "$name did not start listening on port $port"
  exit 1
}

# Converts a wrk latency ("812.00us", "1.23ms", "2.00s") to microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.1f", v }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.1f", v * 1000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.1f", v * 1000000 }
    else { printf "%.1f", v }
  }'
}

# CPU time (user + system, in clock ticks) the server process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }

# Runs wrk against a server; prints "rps p50_us p99_us cpu_us_per_request".
measure() { # name duration
  local name="$1" duration="$2" port output before after
  port="$IGNITE_PORT"
  [ "$name" = bare ] && port="$BARE_PORT"
  before="$(cpu_ticks)"
  output="$("${CLIENT_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency \
    -s "$HERE/post.lua" "http://127.0.0.1:$port/")"
  after="$(cpu_ticks)"
  if grep -q "Non-2xx" <<<"$output"; then
    log "$name answered non-2xx responses:"
    echo "$output" >&2
    exit 1
  fi
  local rps p50 p99 requests cpu
  rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$output")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$output")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$output")"
  requests="$(awk '/ requests in / { print $1 }' <<<"$output")"
  cpu="$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN { printf "%.2f", t / hz * 1000000 / n }')"
  echo "$rps $(to_us "$p50") $(to_us "$p99") $cpu"
}

# Sanity check: both answer the same shape.
for name in ignite bare; do
  start_server "$name"
  port="$IGNITE_PORT"
  [ "$name" = bare ] && port="$BARE_PORT"
  reply="$(exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-ignite-execution-id: check-1\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{"message":"hi there"}' >&3
    cat <&3)"
  log "$name: $(tail -n 1 <<<"$reply")"
  stop_server
done

declare -A RPS P50 P99 CPU
for name in ignite bare; do RPS[$name]=""; P50[$name]=""; P99[$name]=""; CPU[$name]=""; done

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="bare ignite"; else order="ignite bare"; fi
  for name in $order; do
    start_server "$name"
    measure "$name" "$WARMUP" >/dev/null
    read -r rps p50 p99 cpu < <(measure "$name" "$DURATION")
    stop_server
    log "round $round $name: $rps req/s, p50 ${p50}us, p99 ${p99}us, ${cpu}us CPU/request"
    RPS[$name]+="$rps "
    P50[$name]+="$p50 "
    P99[$name]+="$p99 "
    CPU[$name]+="$cpu "
  done
done

# The median of the rounds: robust to a round disturbed by other load on the machine.
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
echo "sdk-serve-loop: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds (median of the rounds)"
printf '%-8s %14s %12s %12s %18s\n' server "requests/s" "p50 (us)" "p99 (us)" "server CPU/req (us)"
for name in ignite bare; do
  printf '%-8s %14s %12s %12s %18s\n' "$name" "$(median "${RPS[$name]}")" "$(median "${P50[$name]}")" \
    "$(median "${P99[$name]}")" "$(median "${CPU[$name]}")"
done
ratio="$(awk -v a="$(median "${RPS[ignite]}")" -v b="$(median "${RPS[bare]}")" 'BEGIN { printf "%.3f", a / b }')"
cpu_ratio="$(awk -v a="$(median "${CPU[bare]}")" -v b="$(median "${CPU[ignite]}")" 'BEGIN { printf "%.3f", a / b }')"
echo "throughput ratio ignite/bare: $ratio (goal >= 0.90)"
echo "CPU efficiency ratio bare CPU/req / ignite CPU/req: $cpu_ratio (less sensitive to other load on the machine)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
