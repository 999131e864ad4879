import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waitFor } from '@ignite/testing';

// The local dev loop as a user meets it: `ignite init` a folder outside the repository, `ignite
// dev` in it (no API, Postgres or Redis: the CLI config points nowhere), requests with the
// platform's semantics, an edit answered by the next request once the rebuild is printed with no
// failed request during the swap (a request loop runs throughout), and a compile error that
// leaves the previous build serving.
jest.setTimeout(600_000);

const ignite = join(repoRoot, 'node_modules', '.bin', 'ignite');

const VERSION_2 = `use ignite::prelude::*;
use serde_json::json;

#[ignite::main]
async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    let action: String = req.field("action").unwrap_or_else(|_| "greet".to_string());
    match action.as_str() {
        "fail" => Err(Error::msg("it failed on purpose")),
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(5));
            Ok(json!({ "slept": true }))
        }
        _ => {
            eprintln!("greeting from version 2");
            Ok(json!({ "message": "version 2", "greeting": ctx.env().get("GREETING"), "execution_id": ctx.execution_id() }))
        }
    }
}
`;

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

describe.each(['native', 'wasm'])('ignite dev --rust-target %s', (target) => {
  const port = 40_000 + Math.floor(Math.random() * 5000) + (target === 'wasm' ? 5000 : 0);
  const url = `http://127.0.0.1:${port}/`;
  let parent: string;
  let folder: string;
  let dev: ChildProcess;
  let log = '';

  /** Waits for the dev loop to print a line matching `pattern` after `from` (an offset in its log). */
  const printed = (pattern: RegExp, from: number, what: string) =>
    waitFor(() => pattern.exec(log.slice(from)) ?? undefined, 300_000, what).catch((error: Error) => {
      throw new Error(`${error.message}; the dev loop printed:\n${log.slice(-3000)}`);
    });

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'ignite-dev-'));
    const init = spawnSync(ignite, ['init', 'hello'], { cwd: parent, encoding: 'utf8' });
    expect(init.status).toBe(0);
    folder = join(parent, 'hello');
    writeFileSync(join(folder, '.env'), 'GREETING=hi from .env\n');
    dev = spawn(ignite, ['dev', '--port', String(port), '--timeout-ms', '1500', '--rust-target', target], {
      cwd: folder,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        // No platform: a config that names an API nobody runs.
        IGNITE_CLI_CONFIG: join(parent, 'no-config.json'),
        IGNITE_API_URL: 'http://127.0.0.1:9',
        // Dependencies built once per machine, as a user's ~/.cache/ignite/dev-target.
        IGNITE_DEV_TARGET_DIR: process.env.IGNITE_DEV_TARGET_DIR ?? join(homedir(), '.cache', 'ignite', 'dev-target'),
        IGNITE_DEV_HOME: join(parent, 'dev-home'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    dev.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    // A first wasm build compiles the SDK's dependencies for wasm32-wasip2 once per machine (minutes).
    await printed(/serving dev-1/, 0, 'the first build');
  });

  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      dev.kill('SIGINT');
      await new Promise((resolve) => dev.once('exit', resolve));
    }
    rmSync(parent, { recursive: true, force: true });
  });

  it("serves the init folder's handler with the platform's execution id and headers", async () => {
    const answer = await post(url, { message: 'hi there' });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ message: 'hi there', function_id: 'org/hello' });
    expect(answer.headers.get('x-ignite-execution-id')).toBe(answer.json.execution_id);
    expect(answer.headers.get('x-ignite-execution-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(answer.headers.get('x-ignite-release')).toBe('dev-1');
  });

  it("answers `ignite invoke` on the platform's invoke route too", () => {
    const invoke = spawnSync(ignite, ['invoke', 'org:hello', '-p', '{"message": "via the CLI"}'], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        IGNITE_CLI_CONFIG: join(parent, 'no-config.json'),
        IGNITE_INVOKE_URL: `http://127.0.0.1:${port}`,
      },
    });
    expect(invoke.stderr).toBe('');
    expect(JSON.parse(invoke.stdout)).toMatchObject({ message: 'via the CLI', function_id: 'org/hello' });
  });

  it('answers the edited code after the printed rebuild, with no failed request during the swap', async () => {
    const failures: string[] = [];
    const versions = new Set<string>();
    let looping = true;
    const loop = async () => {
      while (looping) {
        try {
          const answer = await post(url, {});
          if (answer.status !== 200) failures.push(`${answer.status} ${JSON.stringify(answer.json)}`);
          else versions.add(String(answer.json.message));
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const from = log.length;
    const saved = Date.now();
    writeFileSync(join(folder, 'src', 'lib.rs'), VERSION_2);
    const rebuilt = await printed(/built in ([\d.]+) s; serving dev-2/, from, 'the rebuild');
    const answer = await post(url, {});
    const answered = Date.now() - saved;
    looping = false;
    await Promise.all(loops);

    expect(answer.json).toMatchObject({ message: 'version 2', greeting: 'hi from .env' });
    expect(answer.headers.get('x-ignite-release')).toBe('dev-2');
    // Within the rebuild time it printed (plus the moment the save takes to be noticed).
    expect(answered).toBeLessThan(Number(rebuilt[1]) * 1000 + 2_000);
    expect(failures).toEqual([]);
    expect([...versions].sort()).toEqual(['Hello from Rust!', 'version 2']);
    // Its log line, with the execution it belongs to.
    await printed(new RegExp(`\\[${answer.headers.get('x-ignite-execution-id')}\\] greeting from version 2`), from, 'the log line');
  });

  it('answers an Err with 500 {error} and a run past the time limit with 504, as the platform does', async () => {
    const failed = await post(url, { action: 'fail' });
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ error: 'it failed on purpose' });
    const slow = await post(url, { action: 'sleep' });
    expect(slow.status).toBe(504);
    expect(slow.json).toEqual({ error: 'the function did not finish within its time limit of 1500 ms', code: 'function_timeout' });
    expect((await post(url, {})).status).toBe(200);
  });

  it('prints a compile error with its file:line and keeps the previous build serving', async () => {
    const from = log.length;
    writeFileSync(join(folder, 'src', 'lib.rs'), VERSION_2.replace('Ok(json!({ "slept"', 'Ok(jsno!({ "slept"'));
    await printed(
      /build failed after [\d.]+ s: cargo build failed \(exit \d+\); the previous build keeps serving/,
      from,
      'the failed build',
    );
    expect(log.slice(from)).toMatch(/^src\/lib\.rs:\d+:\d+: error: cannot find macro `jsno`/m);
    const answer = await post(url, {});
    expect(answer.status).toBe(200);
    expect(answer.json.message).toBe('version 2');
    expect(answer.headers.get('x-ignite-release')).toBe('dev-2');
  });
});
