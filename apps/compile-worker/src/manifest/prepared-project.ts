/** What the platform compiles a function to. */
export type BuildTarget = 'native' | 'wasm';

export interface PrepareOptions {
  /** Absolute path of the bundled `ignite` crate's folder, e.g. /work/main/sdk/ignite-rs/ignite. */
  sdkPath: string;
  target: BuildTarget;
}

export interface PreparedProject {
  /** `[package] name`. */
  packageName: string;
  /** The cargo bin target the platform builds (`cargo build --release --bin <binName>`), its artifact name. */
  binName: string;
  /** The file holding `#[ignite::main]`, relative to the project folder: usually src/lib.rs or src/main.rs. */
  handlerFile: string;
  /** Human-readable lines for the build log: what was injected, swapped, ignored, and why. */
  notes: string[];
}
