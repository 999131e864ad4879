import {
  resolveWasmToolchain as resolveToolchain,
  ToolchainError,
  type WasmToolchain,
  type WasmToolchainOptions,
} from '@ignite/rust-toolchains';
import { BuildFailure } from './build-executor';

export { defaultCacheHome, hasPrebuiltWasmTarget, WASM_TARGET, type WasmToolchain, type WasmToolchainMode } from '@ignite/rust-toolchains';

/** The toolchain wasm builds use (`@ignite/rust-toolchains`); one missing here fails a build as the infrastructure's fault. */
export function resolveWasmToolchain(options: WasmToolchainOptions): WasmToolchain {
  try {
    return resolveToolchain(options);
  } catch (error) {
    if (error instanceof ToolchainError) throw new BuildFailure(error.message, 'infrastructure');
    throw error;
  }
}
