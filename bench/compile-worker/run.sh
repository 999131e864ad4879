#!/usr/bin/env bash
# Compile worker benchmark (not a test). Prerequisite: `npm test` ran once (built dist/, migrated the test DB).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
node_bin="$(ls -d "$root"/.tools/node-24.*/bin 2>/dev/null | head -1)"
export PATH="${node_bin:+$node_bin:}$PATH"
exec node "$root/bench/compile-worker/run.mjs" "$@"
