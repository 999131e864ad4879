import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashApiKey } from '@ignite/contracts';
import { createPrismaClient } from '@ignite/database';
import { repoRoot, testDatabaseUrl, uniqueName, waitFor, writeFunctionSource } from '@ignite/testing';
import { TestPlatform } from './support/platform';

// Function logs over real builds, both targets: a handler logs a marker with its input; the
// owner reads the line (with its execution id) with `ignite logs`, follows it live, sees a
// panic's message and location in the log of the invocation that panicked; another org cannot
// read any of it; a flood of 100k lines from one invocation leaves the runner serving and says
// how many lines were dropped.
jest.setTimeout(900_000);

const TARGETS = ['native', 'wasm'] as const;
type Target = (typeof TARGETS)[number];
const FLOOD_LINES = 100_000;

const HANDLER = `use ignite::prelude::*;
use serde_json::json;

#[ignite::main]
async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    let action: String = req.field("action").unwrap_or_else(|_| "mark".to_string());
    match action.as_str() {
        "mark" => {
            let input: String = req.field("input")?;
            eprintln!("marker {input}");
            Ok(json!({ "execution_id": ctx.execution_id() }))
        }
        "panic" => {
            let input: String = req.field("input")?;
            panic!("gave up on {input}");
        }
        "flood" => {
            let lines: u32 = req.field("lines")?;
            for i in 0..lines {
                eprintln!("flood line {i}");
            }
            Ok(json!({ "lines": lines }))
        }
        other => Err(Error::msg(format!("unknown action {other}"))),
    }
}
`;

interface LogLine {
  id: string;
  executionId: string | null;
  stream: string;
  text: string;
  releaseNumber: number | null;
}

describe('function logs for their owners, over real builds', () => {
  const platform = new TestPlatform();
  let source: string;
  const app = (target: Target) => `logs-${target}`;
  const cliConfig = () => join(platform.dataDir, 'cli-config.json');
  const ignite = join(repoRoot, 'node_modules', '.bin', 'ignite');

  /** The CLI as the owner runs it, with the config the platform wrote. */
  function cli(args: string[]) {
    const result = spawnSync(ignite, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, IGNITE_CLI_CONFIG: cliConfig() },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  const jsonLines = (stdout: string): LogLine[] =>
    stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogLine);

  /** Every stored line of one execution, page after page. */
  async function allLinesOf(appName: string, executionId: string): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    let cursor = '0';
    for (;;) {
      const page = await platform.call('GET', `/apps/${appName}/logs?execution=${executionId}&limit=1000&cursor=${cursor}`);
      expect(page.status).toBe(200);
      lines.push(...(page.json.lines as LogLine[]));
      if (!page.json.more) return lines;
      cursor = page.json.cursor as string;
    }
  }

  beforeAll(async () => {
    await platform.start();
    source = writeFunctionSource('logs', { 'src/lib.rs': HANDLER });
    for (const target of TARGETS) await platform.deploy(app(target), source, { rustTarget: target });
  });

  afterAll(async () => {
    await platform.stop();
    rmSync(source, { recursive: true, force: true });
  });

  describe.each(TARGETS)('%s', (target) => {
    const name = app(target);
    const ref = () => `${platform.org}:${name}`;

    it('`ignite logs` shows the line the handler logged, with its execution id', async () => {
      const input = randomUUID();
      const answer = await platform.invoke(name, { action: 'mark', input });
      expect(answer.status).toBe(200);
      const executionId = answer.headers.get('x-ignite-execution-id');
      const line = await waitFor(
        () => jsonLines(cli(['--json', 'logs', ref(), '--since', '10m']).stdout).find((l) => l.text === `marker ${input}`),
        15_000,
        'the marker line',
      );
      expect(line).toMatchObject({ executionId, stream: 'stderr', releaseNumber: 1 });
      // People's form, and one invocation's lines only.
      const human = cli(['logs', ref(), '--execution', executionId!]);
      expect(human.code).toBe(0);
      expect(human.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`r1 ${executionId} marker ${input}$`))]);
    });

    it('`ignite invoke --verbose` prints the call’s own log lines after its answer', () => {
      const input = randomUUID();
      const result = cli(['invoke', ref(), '-p', JSON.stringify({ action: 'mark', input }), '--verbose']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ execution_id: expect.any(String) });
      expect(result.stderr).toContain(`marker ${input}`);
    });

    it('`ignite logs --follow` receives a line written after it started, until Ctrl-C', async () => {
      const follower: ChildProcess = spawn(ignite, ['--json', 'logs', ref(), '--follow', '--limit', '1'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, IGNITE_CLI_CONFIG: cliConfig() },
      });
      let out = '';
      follower.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => follower.once('exit', (code) => resolve(code)));
      try {
        // Started: it printed the latest line (the tests before logged some).
        await waitFor(() => (out.includes('\n') ? true : undefined), 15_000, 'the follower to start');
        const input = randomUUID();
        const answer = await platform.invoke(name, { action: 'mark', input });
        const line = await waitFor(() => jsonLines(out).find((l) => l.text === `marker ${input}`), 15_000, 'the followed line');
        expect(line.executionId).toBe(answer.headers.get('x-ignite-execution-id'));
      } finally {
        follower.kill('SIGINT');
      }
      expect(await exited).toBe(0);
    });

    it('logs a panic’s message and location in the invocation that panicked', async () => {
      const input = randomUUID();
      const answer = await platform.invoke(name, { action: 'panic', input });
      expect(answer.status).toBe(500);
      expect(answer.json).toEqual({ error: `gave up on ${input}` });
      const executionId = answer.headers.get('x-ignite-execution-id')!;
      const lines = await waitFor(
        async () => {
          const detail = await platform.call('GET', `/apps/${name}/invocations/${executionId}`);
          const logs = (detail.json?.invocation?.logs ?? []) as LogLine[];
          return logs.some((l) => l.text.includes(`gave up on ${input}`)) ? logs : undefined;
        },
        15_000,
        'the panic in the invocation’s log',
      );
      // Native: the SDK's line; wasm: Rust's panic message, which the host tags with the execution.
      expect(lines.map((l) => l.text).join('\n')).toMatch(/panicked at src\/lib\.rs:\d+:\d+:[\s\S]*gave up on/);
    });

    it('a flood of 100k lines leaves the runner responsive and says how many lines were dropped', async () => {
      const flood = await platform.invoke(name, { action: 'flood', lines: FLOOD_LINES });
      expect(flood.status).toBe(200);
      const executionId = flood.headers.get('x-ignite-execution-id')!;
      // Serving on at once.
      const next = await platform.invoke(name, { action: 'mark', input: 'after the flood' });
      expect(next.status).toBe(200);
      // Every line is accounted for: kept, or counted in a platform line of the second it was dropped in
      // (a flood that spans several seconds has one such line for each).
      const accounted = await waitFor(
        async () => {
          const lines = await allLinesOf(name, executionId);
          const counts = lines.filter((l) => l.stream === 'platform').map((l) => Number(/^(\d+) log lines dropped/.exec(l.text)?.[1]));
          const kept = lines.filter((l) => l.text.startsWith('flood line')).length;
          const dropped = counts.reduce((sum, n) => sum + n, 0);
          return dropped + kept === FLOOD_LINES ? { dropped, kept, counts } : undefined;
        },
        30_000,
        'every flood line kept or counted as dropped',
      );
      expect(accounted.counts.every((n) => Number.isInteger(n) && n > 0)).toBe(true);
      expect(accounted.dropped).toBeGreaterThan(FLOOD_LINES / 2);
    });
  });

  it("another org cannot read an app's logs, its invocations or its figures", async () => {
    const prisma = createPrismaClient(testDatabaseUrl());
    const slug = uniqueName('other');
    const key = `ign_${randomBytes(32).toString('base64url')}`;
    try {
      const org = await prisma.org.create({ data: { slug } });
      await prisma.apiKey.create({ data: { orgId: org.id, name: 'other', hash: hashApiKey(key), prefix: key.slice(4, 12) } });
      const config = join(platform.dataDir, 'other-cli-config.json');
      writeFileSync(config, JSON.stringify({ url: platform.apiUrl, invokeUrl: platform.directUrl, org: slug, key }));
      for (const path of ['logs', 'logs/follow', 'stats', `invocations/${randomUUID()}`]) {
        const answer = await fetch(`${platform.apiUrl}/v1/orgs/${platform.org}/apps/${app('native')}/${path}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      }
      const result = spawnSync(ignite, ['logs', `${platform.org}:${app('native')}`], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, IGNITE_CLI_CONFIG: config },
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/not found/);
      expect(result.stdout).toBe('');
    } finally {
      await prisma.org.deleteMany({ where: { slug } });
      await prisma.$disconnect();
    }
  });
});
