#!/usr/bin/env bash
# Prints the path of a helm binary, installing a pinned Helm when none is cached.
#
# Helm is compiled from source with `go install` (the Go module proxy is reachable where
# get.helm.sh is not) into a cache directory outside the repository:
#   ${IGNITE_CACHE_HOME:-$HOME/.cache/ignite}/bin/helm-<version>
# The first run takes a few minutes (compiling Helm); later runs only print the path.
#
#   HELM_VERSION  override the pinned version (default below)
#   HELM_BIN      use this helm binary instead (printed as is after a version check)
#
# Needs Go (on PATH or at /usr/local/go/bin). Everything it prints on stdout is the path; progress
# goes to stderr.
set -euo pipefail

helm_version="${HELM_VERSION:-v3.22.0}"
say() { printf '[helm.sh] %s\n' "$*" >&2; }

if [ -n "${HELM_BIN:-}" ]; then
  if [ ! -x "$HELM_BIN" ]; then
    say "HELM_BIN=$HELM_BIN is not an executable"
    exit 1
  fi
  printf '%s\n' "$HELM_BIN"
  exit 0
fi

cache="${IGNITE_CACHE_HOME:-${HOME:-/tmp}/.cache/ignite}"
bin_dir="$cache/bin"
target="$bin_dir/helm-$helm_version"

if [ -x "$target" ]; then
  printf '%s\n' "$target"
  exit 0
fi

go_bin="$(command -v go || true)"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then
  go_bin=/usr/local/go/bin/go
fi
if [ -z "$go_bin" ]; then
  say "helm $helm_version is not cached at $target and Go is not installed."
  say "Install Go (https://go.dev/dl/) or set HELM_BIN to an existing helm $helm_version binary."
  exit 1
fi

mkdir -p "$bin_dir"
# Serialize concurrent installs (several jest workers may ask at once).
lock="$bin_dir/.helm-$helm_version.lock"
exec 9>"$lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if [ -x "$target" ]; then
  printf '%s\n' "$target"
  exit 0
fi

work="$(mktemp -d "$bin_dir/.helm-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say "installing helm $helm_version with go install (compiles from source; takes a few minutes)"
# The link-time settings of Helm's own release build (its Makefile): the version it reports and the
# Kubernetes version `helm template`/`helm lint` assume, that of the client-go it is built with.
# Without them helm says "v3.x" and assumes Kubernetes v1.20.
gomod="$("$go_bin" mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")"
k8s_minor="$(printf '%s' "$client_go" | cut -d. -f2)"
case "$k8s_minor" in
  '' | *[!0-9]*) say "could not read the client-go version of helm $helm_version from $gomod"; exit 1 ;;
esac
ldflags="-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for package in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags="$ldflags -X $package.k8sVersionMajor=1 -X $package.k8sVersionMinor=$k8s_minor"
done
# CGO off: a static binary that does not depend on the host's C toolchain.
GOBIN="$work" CGO_ENABLED=0 "$go_bin" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version" >&2
"$work/helm" version --short >&2
mv "$work/helm" "$target"
printf '%s\n' "$target"
