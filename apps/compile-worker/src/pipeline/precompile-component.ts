import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BuildFailure } from '../executors/build-executor';
import { bubblewrapArgs } from '../executors/sandbox';

/** What `ignite-wasm-host cache-key` prints: the Wasmtime version and a digest of the engine's configuration. */
const CACHE_KEY = /^wasmtime-[0-9A-Za-z.+-]+-[0-9a-f]{16}$/;
/** Kept of the host's stderr for the build's error. */
const STDERR_BYTES = 4000;

export interface PrecompileOptions {
  /** `ignite-wasm-host` (apps/runner/dist), the very program the runner serves components with. */
  host: string;
  timeoutMs: number;
  /**
   * `bwrap`: in a sandbox like the build's (no network, nothing of the host's files but the host
   * program, the component and the output's directory); `none`: a plain child process.
   */
  sandbox: 'bwrap' | 'none';
}

/**
 * Compiles a verified component ahead of time for the wasm host's engine
 * (`ignite-wasm-host precompile IN OUT`): `out` is the `.cwasm` the runner maps at start instead of
 * compiling. Returns the cache key it was compiled for (Wasmtime's version, the engine settings and
 * this machine's CPU features). A component the host refuses fails the build, like one that
 * does not verify.
 *
 * Cranelift compiles the tenant's wasm here but runs none of it; compiling untrusted wasm is
 * within Wasmtime's threat model (it is what every `wasmtime serve` does at start). Where builds
 * are sandboxed on this machine it runs in the same sandbox all the same, time-bounded either way.
 */
export async function precompileComponent(component: string, out: string, options: PrecompileOptions): Promise<{ cacheKey: string }> {
  try {
    await access(options.host, constants.X_OK);
  } catch {
    throw new BuildFailure(
      `cannot precompile the component: the wasm host ${options.host} is not built (npm start builds it, or: cargo build --release --manifest-path apps/runner/wasm-host/Cargo.toml, then copy target/release/ignite-wasm-host to apps/runner/dist/)`,
      'infrastructure',
    );
  }
  const args = ['precompile', component, out];
  const [command, ...rest] =
    options.sandbox === 'none'
      ? [options.host, ...args]
      : [
          'bwrap',
          ...bubblewrapArgs(
            { readOnly: [dirname(options.host), dirname(component)], writable: [dirname(out)], env: {}, cwd: '/tmp', network: false },
            [options.host, ...args],
          ),
        ];
  const child = spawn(command!, rest, { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    if (stdout.length < 256) stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_BYTES) stderr += chunk.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child.pid);
  }, options.timeoutMs);
  const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
    child.once('error', resolve);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  if (status instanceof Error) throw new BuildFailure(`cannot precompile the component: ${status.message}`, 'infrastructure');
  if (timedOut) throw new BuildFailure(`precompiling the component took longer than ${options.timeoutMs} ms`, 'compile');
  const words = stderr.trim().replace(/^ignite-wasm-host: /, '');
  if (status.code !== 0) {
    throw new BuildFailure(
      `the component could not be compiled for the wasm host: ${words || `it exited (${status.signal ?? `code ${status.code}`})`}`,
      'compile',
    );
  }
  const cacheKey = stdout.trim();
  if (!CACHE_KEY.test(cacheKey)) {
    throw new BuildFailure(`the wasm host printed no cache key after precompiling (${JSON.stringify(cacheKey)})`, 'infrastructure');
  }
  return { cacheKey };
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
