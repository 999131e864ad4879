import { z } from 'zod';

/**
 * `<IGNITE_CACHE_HOME>/wasm-toolchain/toolchain.json`: the wasm32-wasip2 toolchain provisioning
 * assembled where none is prebuilt (scripts/platform/toolchains.mts writes it; the compile
 * worker reads it before a wasm build).
 */
export const WasmToolchainManifestSchema = z.object({
  layout: z.number().int(),
  kind: z.literal('build-std'),
  target: z.literal('wasm32-wasip2'),
  rustc: z.string().min(1),
  cargo: z.string().min(1),
  /** `rustc --version` of `rustc`, recorded on every build. */
  version: z.string().min(1),
  sysroot: z.string().min(1),
  /** Passed to rustc for the target (CARGO_ENCODED_RUSTFLAGS). */
  rustflags: z.array(z.string()),
  /** Directories a sandboxed build must see (read-only). */
  readOnlyPaths: z.array(z.string()),
  /** How long the standard library took to build, once. */
  stdBuildSeconds: z.number().nonnegative(),
});
export type WasmToolchainManifest = z.infer<typeof WasmToolchainManifestSchema>;
