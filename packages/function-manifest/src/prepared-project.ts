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
  /**
   * The artifact's cargo target and name: a bin (`cargo build --release --bin <binName>`), or for
   * `crateKind: 'cdylib'` the library (`cargo build --release --lib`, artifact `<binName>.wasm`).
   */
  binName: string;
  /** `bin`: a program (native, or a wasm bin); `cdylib`: the library is the wasm component. */
  crateKind: 'bin' | 'cdylib';
  /** The file holding `#[ignite::main]`, relative to the project folder: usually src/lib.rs or src/main.rs. */
  handlerFile: string;
  /** Human-readable lines for the build log: what was injected, swapped, ignored, and why. */
  notes: string[];
}
