import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildView } from '@ignite/contracts';
import { repoRoot, tarGzOf, waitFor, writeFunctionSource } from '@ignite/testing';
import { Client } from 'undici';
import { type Answer, TestPlatform } from './support/platform';

// One suite, both targets: the same handler source (sdk/ignite-rs/fixtures/handler-semantics, with
// `ignite = "*"` as a user uploads it) goes through the whole lifecycle twice — save, compile with
// `--rust-target native` and with `--rust-target wasm`, publish, invoke through the API — and every
// semantic case below must hold for both. The platform runs as its three processes.
jest.setTimeout(900_000);

const TARGETS = ['native', 'wasm'] as const;
type Target = (typeof TARGETS)[number];

const HANDLER = readFileSync(join(repoRoot, 'sdk', 'ignite-rs', 'fixtures', 'handler-semantics', 'src', 'lib.rs'), 'utf8');
const TIME_LIMIT_MS = 2000;
const MEMORY_MB = 64;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The handler as a user's project: `ignite = "*"` only (the platform injects serde, serde_json, tokio); `marker` tells releases apart. */
function source(marker: string): string {
  if (!HANDLER.includes('const MARKER: &str = "release-1";')) throw new Error('the fixture lost its MARKER line');
  return writeFunctionSource('handler-semantics', {
    'src/lib.rs': HANDLER.replace('const MARKER: &str = "release-1";', `const MARKER: &str = ${JSON.stringify(marker)};`),
  });
}

describe('the same handler on both targets, through the whole lifecycle', () => {
  const platform = new TestPlatform();
  const sources: string[] = [];
  const builds = new Map<Target, BuildView>();
  const app = (target: Target) => `semantics-${target}`;

  beforeAll(async () => {
    await platform.start({ RUNNER_MAX_INSTANCES_PER_FUNCTION: '4', RUNNER_QUEUE_WAIT_MS: '20000' });
    const first = source('release-1');
    sources.push(first);
    for (const target of TARGETS) {
      const { release, build } = await platform.deploy(app(target), first, {
        rustTarget: target,
        env: { GREETING: 'hi' },
        timeoutMs: TIME_LIMIT_MS,
        memoryMb: MEMORY_MB,
      });
      expect(release).toBe(1);
      builds.set(target, build);
    }
  });

  afterAll(async () => {
    await platform.stop();
    for (const dir of sources) rmSync(dir, { recursive: true, force: true });
  });

  describe.each(TARGETS)('%s', (target) => {
    const name = app(target);
    const other = app(target === 'native' ? 'wasm' : 'native');
    const ok = (answer: Answer) => {
      if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status} ${answer.text}`);
      return answer;
    };

    it('records the toolchain and the target the artifact was built with', () => {
      expect(builds.get(target)).toMatchObject({
        status: 'succeeded',
        target,
        targetTriple: target === 'native' ? 'x86_64-unknown-linux-gnu' : 'wasm32-wasip2',
        toolchain: expect.stringMatching(/^rustc 1\.\d+\.\d+/),
        artifactSize: expect.any(Number),
      });
    });

    it('answers 200 with the handler JSON, its execution id and function id', async () => {
      const answer = ok(await platform.invoke(name, { action: 'echo' }));
      const executionId = answer.headers.get('x-ignite-execution-id');
      expect(executionId).toMatch(UUID_V7);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.json).toMatchObject({ execution_id: executionId, function_id: `${platform.org}/${name}`, marker: 'release-1' });
      const again = ok(await platform.invoke(name, { action: 'echo' }));
      expect(again.headers.get('x-ignite-execution-id')).not.toBe(executionId);
      if (target === 'native') {
        // One warm instance serves both: its statics live on.
        expect(again.json.served).toBeGreaterThan(answer.json.served);
      } else {
        // A fresh component instance per request: no state survives one (the hidden-state check).
        const more = await Promise.all(Array.from({ length: 8 }, () => platform.invoke(name, { action: 'echo' })));
        expect([answer, again, ...more].map((each) => [each.status, each.json.served])).toEqual(Array.from({ length: 10 }, () => [200, 1]));
      }
    });

    it('hands the handler the method, sub-path, query, headers and body; never a caller-supplied platform header', async () => {
      const answer = ok(
        await platform.invoke(
          name,
          { action: 'echo', n: 1 },
          {
            method: 'PUT',
            path: '/orders/42?name=ada',
            headers: { 'x-test-header': 'yes', 'x-ignite-execution-id': 'forged', 'x-ignite-function-id': 'other/app' },
          },
        ),
      );
      expect(answer.json).toMatchObject({
        method: 'PUT',
        path: '/orders/42',
        query: 'name=ada',
        name: 'ada',
        header: 'yes',
        body: { action: 'echo', n: 1 },
        function_id: `${platform.org}/${name}`,
      });
      expect(answer.json.execution_id).toBe(answer.headers.get('x-ignite-execution-id'));
    });

    it('turns Err into 500 {"error"} and serves the next call', async () => {
      const failed = await platform.invoke(name, { action: 'err', message: 'order not paid' });
      expect({ status: failed.status, body: failed.json }).toEqual({ status: 500, body: { error: 'order not paid' } });
      ok(await platform.invoke(name, { action: 'echo' }));
    });

    it('turns a panic into 500 {"error"} and serves the next call', async () => {
      const panicked = await platform.invoke(name, { action: 'panic', message: 'boom' });
      expect({ status: panicked.status, body: panicked.json }).toEqual({ status: 500, body: { error: 'boom' } });
      ok(await platform.invoke(name, { action: 'echo' }));
    });

    it('answers 400 {"error"} for a body that is not JSON', async () => {
      // Declared as text, so that the API passes it on (it refuses malformed application/json itself) and the function's decoding answers.
      const answer = await platform.invoke(name, '{"action": nope', { headers: { 'content-type': 'text/plain' } });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({ error: expect.stringContaining('not valid JSON') });
    });

    it('gives the handler its app environment and a scratch store', async () => {
      const env = ok(await platform.invoke(name, { action: 'env', name: 'GREETING' }));
      expect(env.json.value).toBe('hi');
      expect(env.json.names).toContain('GREETING');
      expect(env.json.names.filter((n: string) => /^(DATABASE_URL|REDIS_URL|IGNITE_QUEUE_PREFIX|RUNNER_)/.test(n))).toEqual([]);

      const temp = ok(await platform.invoke(name, { action: 'temp' }));
      expect(temp.json).toMatchObject({ content: 'scratch data', files: ['a.txt'], bad_name: expect.stringContaining('escape') });
    });

    it('streams the chunks the handler writes, then its result', async () => {
      const answer = ok(await platform.invoke(name, { action: 'stream' }));
      const lines = answer.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toEqual([{ chunk: 1 }, { chunk: 2 }, { done: true }]);
    });

    it('answers 504 past the time limit while other functions keep answering, then serves the next call', async () => {
      for (const action of [{ action: 'sleep', ms: 60_000 }, { action: 'spin' }]) {
        const slow = platform.invoke(name, action);
        const meanwhile = await Promise.all([platform.invoke(other, { action: 'echo' }), platform.invoke(other, { action: 'echo' })]);
        expect(meanwhile.map((a) => a.status)).toEqual([200, 200]);
        const timedOut = await slow;
        expect({ action: action.action, status: timedOut.status, body: timedOut.json }).toEqual({
          action: action.action,
          status: 504,
          body: { error: `the function did not finish within its time limit of ${TIME_LIMIT_MS} ms`, code: 'function_timeout' },
        });
        ok(await platform.invoke(name, { action: 'echo' }));
      }
    });

    it('stops a handler that allocates without bound with a JSON error, and serves the next call', async () => {
      const grown = await platform.invoke(name, { action: 'grow' });
      expect({ status: grown.status, body: grown.json }).toEqual({
        status: 500,
        body: { error: `the function exceeded its memory limit of ${MEMORY_MB} MiB and was stopped`, code: 'function_error' },
      });
      ok(await platform.invoke(name, { action: 'echo' }));
    });

    it('serves 100 simultaneous invocations, all of them', async () => {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => platform.invoke(name, { action: 'sleep', ms: 20 + (i % 5) })),
      );
      expect(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.text}`)).toEqual([]);
      expect(new Set(answers.map((a) => a.headers.get('x-ignite-execution-id'))).size).toBe(100);
    });

    it('records the invocations', async () => {
      const answer = ok(await platform.invoke(name, { action: 'echo' }));
      const executionId = answer.headers.get('x-ignite-execution-id');
      const failed = await platform.invoke(name, { action: 'err', message: 'recorded failure' });
      const failedId = failed.headers.get('x-ignite-execution-id');
      const recorded = await waitFor(async () => {
        const list = await platform.call('GET', `/apps/${name}/invocations`);
        const mine = (list.json?.invocations ?? []).filter((i: { executionId: string }) => [executionId, failedId].includes(i.executionId));
        return mine.length === 2 ? mine : undefined;
      });
      expect(recorded).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ executionId, statusCode: 200, error: null }),
          expect.objectContaining({ executionId: failedId, statusCode: 500, error: 'recorded failure' }),
        ]),
      );
    });

    it('serves a new release once published, and the old one once rolled back, failing no request in between', async () => {
      const second = source(`release-2-${target}`);
      sources.push(second);
      const saved = await platform.call('PUT', `/apps/${name}/draft`, new Uint8Array(await tarGzOf(second)), {
        'content-type': 'application/gzip',
      });
      expect(saved.status).toBe(200);
      await platform.compile(name);

      const switchUnderLoad = async (change: () => Promise<Answer>, expected: string) => {
        const seen: { status: number; marker: unknown }[] = [];
        let changed = false;
        let after = 0;
        const client = async () => {
          while (!changed || after < 20) {
            const answer = await platform.invoke(name, { action: 'echo' });
            seen.push({ status: answer.status, marker: answer.json?.marker });
            if (changed && answer.json?.marker === expected) after++;
          }
        };
        const load = Promise.all([client(), client(), client(), client()]);
        await waitFor(() => (seen.length >= 20 ? true : undefined));
        const changeAnswer = await change();
        expect([200, 201]).toContain(changeAnswer.status);
        changed = true;
        await load;
        expect(seen.filter((s) => s.status !== 200)).toEqual([]);
        expect(seen.slice(-8).every((s) => s.marker === expected)).toBe(true);
        return seen;
      };

      const published = await switchUnderLoad(() => platform.call('POST', `/apps/${name}/releases`), `release-2-${target}`);
      expect(published[0]!.marker).toBe('release-1');
      await switchUnderLoad(() => platform.call('POST', `/apps/${name}/releases/1/activate`), 'release-1');
    });
  });

  describe.each(TARGETS)('%s, on the runner’s direct port (the connection handed to the program or the wasm host)', (target) => {
    const name = app(target);
    const functionId = () => `${platform.org}/${name}`;
    const call = async (client: Client, body: unknown) => {
      const response = await client.request({
        method: 'POST',
        path: `/v1/invoke/${functionId()}`,
        headers: { 'content-type': 'application/json', 'x-ignite-internal-token': platform.runnerToken },
        body: JSON.stringify(body),
      });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, json: text ? JSON.parse(text) : undefined };
    };

    it('keeps the same semantics: 200 with ids, Err 500, a 504 past the time limit, a memory-limit 500, on one connection after another', async () => {
      const client = new Client(platform.directUrl);
      try {
        const first = await call(client, { action: 'echo' });
        expect(first.status).toBe(200);
        expect(first.json).toMatchObject({ function_id: functionId(), execution_id: first.headers['x-ignite-execution-id'] });
        expect(first.json.execution_id).toMatch(UUID_V7);
        const failed = await call(client, { action: 'err', message: 'order not paid' });
        expect({ status: failed.status, json: failed.json }).toEqual({ status: 500, json: { error: 'order not paid' } });
        const slow = await call(client, { action: 'sleep', ms: 60_000 });
        expect({ status: slow.status, json: slow.json }).toEqual({
          status: 504,
          json: { error: `the function did not finish within its time limit of ${TIME_LIMIT_MS} ms`, code: 'function_timeout' },
        });
        // Native: the 504 closed that connection, the client opens a new one, handed to a fresh
        // instance. Wasm: the host answered the 504 itself and the connection goes on.
        const grown = await call(client, { action: 'grow' });
        expect({ status: grown.status, json: grown.json }).toEqual({
          status: 500,
          json: { error: `the function exceeded its memory limit of ${MEMORY_MB} MiB and was stopped`, code: 'function_error' },
        });
        expect((await call(client, { action: 'echo' })).status).toBe(200);
      } finally {
        await client.close();
      }
    });
  });
});
