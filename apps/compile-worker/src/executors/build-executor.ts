/** What runs cargo for a build: the local machine (the default) or, later, a Kubernetes Job. */

export type BuildTarget = 'native' | 'wasm';
export type LogStream = 'stdout' | 'stderr' | 'system';
export type LogSink = (stream: LogStream, text: string) => void;

export interface BuildRequest {
  buildId: string;
  /** The build's own directory: everything the build writes outside the shared caches goes here. */
  workDir: string;
  /** The prepared project inside `workDir`: `Cargo.toml` at its root, rewritten for the platform. */
  projectDir: string;
  /**
   * The cargo target to build and the artifact's file name: a bin (`cargo build --bin <binName>`)
   * or, with `crateKind: 'cdylib'`, the package's library (`cargo build --lib`) named `binName`
   * (its crate name). For wasm the artifact is `<binName>.wasm`.
   */
  binName: string;
  /** `bin` (the default) or `cdylib`: the library is the artifact (a wasm component of the proxy world). */
  crateKind?: 'bin' | 'cdylib';
  target: BuildTarget;
  /** Where the executor leaves the built artifact. */
  outputPath: string;
  timeoutMs: number;
}

export interface BuildOutcome {
  /** `rustc --version` of the toolchain that built it. */
  toolchain: string;
  targetTriple: string;
}

export type BuildFailureKind = 'compile' | 'timeout' | 'canceled' | 'infrastructure';

/** A build that did not produce an artifact, with the reason a person reads on the build. */
export class BuildFailure extends Error {
  constructor(
    message: string,
    readonly kind: BuildFailureKind,
    readonly diagnostics: string[] = [],
  ) {
    super(message);
    this.name = 'BuildFailure';
  }
}

export interface BuildExecutor {
  readonly name: string;
  /**
   * Whether the pipeline may start the artifact on this machine to check it answers its readiness
   * probe. Only where builds already run sandboxed here; a worker pod holding the platform's
   * credentials must not run user code.
   */
  readonly startCheckHere: boolean;
  /** Builds the project; rejects with `BuildFailure`. Aborting the signal kills the build at once. */
  build(request: BuildRequest, log: LogSink, signal: AbortSignal): Promise<BuildOutcome>;
}
