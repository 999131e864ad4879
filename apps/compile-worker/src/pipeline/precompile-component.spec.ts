import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComponent, repoRoot, waitFor } from '@ignite/testing';
import { BuildFailure } from '../executors/build-executor';
import { precompileComponent } from './precompile-component';

// A real component (the wasm toolchain, cached across runs) compiled by the real wasm host that
// provisioning builds into apps/runner/dist, in the build sandbox and without it.
jest.setTimeout(600_000);

const HOST = join(repoRoot, 'apps', 'runner', 'dist', 'ignite-wasm-host');

describe('precompiling a verified component for the wasm host', () => {
  let dir: string;
  let component: string;
  let hostKey: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ignite-precompile-'));
    component = buildComponent('rust-hello');
    hostKey = execFileSync(HOST, ['cache-key'], { encoding: 'utf8' }).trim();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['bwrap', 'none'] as const)('compiles it for the host’s engine (sandbox %s): a file the host serves', async (sandbox) => {
    const out = join(dir, `hello-${sandbox}.cwasm`);
    const { cacheKey } = await precompileComponent(component, out, { host: HOST, timeoutMs: 120_000, sandbox });
    expect(cacheKey).toBe(hostKey);
    expect(cacheKey).toMatch(/^wasmtime-48\.0\.8-[0-9a-f]{16}$/);
    expect([...readFileSync(out).subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);

    // The host maps it and serves rust-hello's contract JSON.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const host = spawn(HOST, ['serve'], {
      env: {
        IGNITE_HOST_LISTEN_ADDR: `127.0.0.1:${port}`,
        IGNITE_COMPONENT: out,
        IGNITE_FUNCTION_ID: 'org/hello',
        IGNITE_TEMP_DIR: join(dir, `scratch-${sandbox}`),
      },
      stdio: 'ignore',
    });
    try {
      const answer = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: { 'x-ignite-execution-id': 'exec-1' },
          body: JSON.stringify({ message: 'precompiled' }),
        }).catch(() => undefined);
        return response === undefined ? undefined : { status: response.status, json: await response.json() };
      });
      expect(answer).toEqual({ status: 200, json: { message: 'precompiled', execution_id: 'exec-1', function_id: 'org/hello' } });
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('fails the build with the host’s words for what it cannot compile, and says when the host is missing', async () => {
    const core = join(dir, 'core.wasm');
    writeFileSync(core, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const refused = await precompileComponent(core, join(dir, 'core.cwasm'), { host: HOST, timeoutMs: 60_000, sandbox: 'bwrap' }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(BuildFailure);
    expect(refused).toMatchObject({ kind: 'compile' });
    expect((refused as Error).message).toMatch(
      /^the component could not be compiled for the wasm host: .*core\.wasm: the input is a core WebAssembly module, not a component$/,
    );

    const missing = await precompileComponent(component, join(dir, 'x.cwasm'), {
      host: join(dir, 'no-such-host'),
      timeoutMs: 60_000,
      sandbox: 'none',
    }).catch((error: unknown) => error);
    expect(missing).toMatchObject({
      kind: 'infrastructure',
      message: expect.stringMatching(/the wasm host .* is not built \(npm start builds it/),
    });
  });
});
