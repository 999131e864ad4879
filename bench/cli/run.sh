#!/usr/bin/env bash
# Benchmark of the CLI's start-up and of one `ignite invoke` beside curl (see bench.mts). Builds
# the apps (tsc -b), then runs bench.mts on the provisioned Node 24. Needs cargo (ignite dev
# builds the function) and curl. With DATABASE_URL (and REDIS_URL) also the platform, for the
# draft compile figure. Settings: RUNS (30), PORT (18797), COMPILES (5).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE="$(ls -d "$ROOT"/.tools/node-24.* 2>/dev/null | head -1)/bin/node"
[ -x "$NODE" ] || NODE="$(command -v node)"
(cd "$ROOT" && "$NODE" node_modules/typescript/bin/tsc -b)
exec "$NODE" --disable-warning=ExperimentalWarning "$HERE/bench.mts"
