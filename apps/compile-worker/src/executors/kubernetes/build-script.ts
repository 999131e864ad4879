import { BUILD_ARTIFACT_MEDIA_TYPE, BUILD_ARTIFACT_SHA256_HEADER } from '@ignite/build-tokens';

/**
 * What a build pod runs: a POSIX sh script, passed as `sh -c <script> ignite-build <bin> <triple>
 * <artifact file> <crate kind>` so no user-derived value is ever spliced into shell text. The crate
 * kind is `bin` (`cargo build --bin <bin>`) or `cdylib` (`cargo build --lib`: a wasm component's
 * handler library). It downloads the build
 * context, builds it with cargo (network allowed: the compile image has the common crates already,
 * anything else comes from the registry), and uploads the artifact.
 *
 * Its environment (set by the Job): IGNITE_CONTEXT_URL/IGNITE_CONTEXT_TOKEN, IGNITE_ARTIFACT_URL/
 * IGNITE_ARTIFACT_TOKEN, IGNITE_WORK_DIR (an emptyDir), IGNITE_SEED_DIR (the image's pre-fetched
 * cargo home and pre-built target directory), CARGO_HOME and CARGO_TARGET_DIR under the work dir.
 *
 * Every line of its own is `ignite-build: ...` on stderr; cargo's JSON messages are on stdout. The
 * exit code says which step failed (BUILD_EXIT_CODES); the executor turns it into the build's error.
 */

/** Prefix of the script's own log lines. */
export const SCRIPT_LOG_PREFIX = 'ignite-build: ';
/** The line announcing the toolchain: `ignite-build: toolchain rustc 1.93.0 (...)`. */
export const TOOLCHAIN_LINE_PREFIX = `${SCRIPT_LOG_PREFIX}toolchain `;

export const BUILD_EXIT_CODES = {
  contextDownload: 10,
  contextUnpack: 11,
  compile: 12,
  artifactMissing: 13,
  artifactUpload: 14,
  seed: 15,
} as const;

const SCRIPT = String.raw`set -eu
bin="$1"
triple="$2"
artifact_name="$3"
crate_kind="$4"
say() { printf 'ignite-build: %s\n' "$*" >&2; }
fail() { code="$1"; shift; say "error: $*"; exit "$code"; }

work="$IGNITE_WORK_DIR"
umask 077
mkdir -p "$work/src" "$HOME" "$CARGO_TARGET_DIR"

# The tokens stay in shell variables only; cargo (and the build scripts it runs) gets neither.
context_token="$IGNITE_CONTEXT_TOKEN"
artifact_token="$IGNITE_ARTIFACT_TOKEN"
unset IGNITE_CONTEXT_TOKEN IGNITE_ARTIFACT_TOKEN

say "toolchain $(rustc --version)"

# The image's pre-fetched registry and pre-built dependencies were made at these very paths, so
# cargo finds them fresh and compiles only the function's own crate (and what it adds).
seed="$IGNITE_SEED_DIR"
if [ -d "$seed/cargo-home" ] && [ ! -e "$CARGO_HOME" ]; then
  cp -a "$seed/cargo-home" "$CARGO_HOME" || fail __SEED__ "could not copy the pre-fetched cargo home"
fi
mkdir -p "$CARGO_HOME"
if [ -d "$seed/target" ]; then
  for part in CACHEDIR.TAG .rustc_info.json release "$triple"; do
    if [ -e "$seed/target/$part" ] && [ ! -e "$CARGO_TARGET_DIR/$part" ]; then
      cp -a "$seed/target/$part" "$CARGO_TARGET_DIR/" || fail __SEED__ "could not copy the pre-built dependencies"
    fi
  done
fi

say "downloading the build context"
if ! curl --silent --show-error --fail-with-body --retry 5 --retry-connrefused --retry-delay 2 --connect-timeout 10 --max-time 600 \
  -H "Authorization: Bearer $context_token" -o "$work/context.tar.gz" "$IGNITE_CONTEXT_URL"; then
  [ -s "$work/context.tar.gz" ] && head -c 2000 "$work/context.tar.gz" >&2 && echo >&2
  fail __CONTEXT_DOWNLOAD__ "could not download the build context from $IGNITE_CONTEXT_URL"
fi
tar -xzf "$work/context.tar.gz" -C "$work/src" --no-same-owner --no-same-permissions || fail __CONTEXT_UNPACK__ "could not unpack the build context"
rm -f "$work/context.tar.gz"

cd "$work/src"
if [ "$crate_kind" = cdylib ]; then set -- --lib; else set -- --bin "$bin"; fi
say "cargo build --release $* --target $triple"
status=0
cargo build --release "$@" --target "$triple" --message-format=json || status=$?
[ "$status" -eq 0 ] || fail __COMPILE__ "cargo build failed (exit code $status)"

artifact="$CARGO_TARGET_DIR/$triple/release/$artifact_name"
[ -f "$artifact" ] || fail __ARTIFACT_MISSING__ "cargo finished but $artifact is missing"
sum="$(sha256sum "$artifact" | cut -d ' ' -f 1)"
size="$(wc -c < "$artifact" | tr -d ' ')"
say "uploading the artifact ($size bytes, sha256 $sum)"
if ! curl --silent --show-error --fail-with-body --retry 5 --retry-connrefused --retry-delay 2 --connect-timeout 10 --max-time 600 \
  -X PUT -T "$artifact" -H "Expect:" -H "Content-Type: __MEDIA_TYPE__" -H "__SHA_HEADER__: $sum" \
  -H "Authorization: Bearer $artifact_token" -o "$work/upload-answer.json" "$IGNITE_ARTIFACT_URL"; then
  [ -s "$work/upload-answer.json" ] && head -c 2000 "$work/upload-answer.json" >&2 && echo >&2
  fail __ARTIFACT_UPLOAD__ "could not upload the artifact to $IGNITE_ARTIFACT_URL"
fi
say "artifact uploaded"
`;

/** The pod's script (pure: the same text for every build; the build's values are its arguments). */
export function buildPodScript(): string {
  const codes = BUILD_EXIT_CODES;
  return SCRIPT.replaceAll('__SEED__', String(codes.seed))
    .replaceAll('__CONTEXT_DOWNLOAD__', String(codes.contextDownload))
    .replaceAll('__CONTEXT_UNPACK__', String(codes.contextUnpack))
    .replaceAll('__COMPILE__', String(codes.compile))
    .replaceAll('__ARTIFACT_MISSING__', String(codes.artifactMissing))
    .replaceAll('__ARTIFACT_UPLOAD__', String(codes.artifactUpload))
    .replaceAll('__MEDIA_TYPE__', BUILD_ARTIFACT_MEDIA_TYPE)
    .replaceAll('__SHA_HEADER__', BUILD_ARTIFACT_SHA256_HEADER);
}

/** The command of the build container: the script and its positional arguments. */
export function buildPodCommand(binName: string, triple: string, artifactName: string, crateKind: 'bin' | 'cdylib' = 'bin'): string[] {
  return ['/bin/sh', '-c', buildPodScript(), 'ignite-build', binName, triple, artifactName, crateKind];
}
