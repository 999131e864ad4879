import { randomUUID } from 'node:crypto';
import { channels, type FunctionLogLine, functionLogStreamFields } from '@ignite/contracts';
import { waitFor } from '@ignite/testing';
import { request } from 'undici';
import { LogsRepository } from '../logs/logs.repository';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

/**
 * Function logs through the API: lines as a runner puts them on the function-logs stream (the
 * runner's side: apps/runner/src/logs; the whole path over real builds: test/function-logs.spec.ts).
 */
describe('function logs (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let org: { id: string; slug: string; key: string };
  let appId: string;
  let releaseId: string;
  let seq = 0;
  const instance = `instance-${randomUUID()}`;
  const base = () => `/v1/orgs/${org.slug}/apps/fn`;

  /** Lines of release 1 of `fn`, as a runner ships them. */
  async function ship(lines: Omit<FunctionLogLine, 'i' | 'n' | 't'>[]): Promise<void> {
    const items = lines.map((line) => ({ ...line, i: instance, n: seq++, t: Date.now() }));
    const { app, release, lines: field } = functionLogStreamFields;
    await env.redis.xadd(channels.functionLogs(env.prefix), '*', app, appId, release, releaseId, field, JSON.stringify(items));
  }

  async function logs(query = '', key = org.key) {
    return api.call('GET', `${base()}/logs${query}`, { key });
  }

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    org = await env.org();
    await steps.createApp(api, org, 'fn');
    await steps.saveDraft(api, org, 'fn', tarGz(RUST_PROJECT));
    await steps.succeed(env, await steps.compile(api, org, 'fn'));
    expect((await steps.publish(api, org, 'fn')).status).toBe(201);
    const app = await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'fn' }, include: { releases: true } });
    appId = app.id;
    releaseId = app.releases[0]!.id;
  });

  afterAll(async () => {
    await env.teardown();
  });

  it('stores the lines with their invocation, and finds them by execution, text, release and time', async () => {
    await ship([
      { e: 'exec-a', s: 'stderr', x: 'order 1 accepted' },
      { e: 'exec-b', s: 'stdout', x: 'order 2 REJECTED: 100%_sure' },
      { s: 'stderr', x: 'outside any invocation' },
      { s: 'platform', x: 'the instance exited unexpectedly (signal SIGSEGV)' },
    ]);
    const reply = await waitFor(
      async () => {
        const page = await logs();
        return page.json.lines.length >= 4 ? page : undefined;
      },
      10_000,
      'the lines stored',
    );
    expect(reply.status).toBe(200);
    expect(
      reply.json.lines.map((l: { executionId: string | null; stream: string; text: string; releaseNumber: number }) => [
        l.executionId,
        l.stream,
        l.text,
        l.releaseNumber,
      ]),
    ).toEqual([
      ['exec-a', 'stderr', 'order 1 accepted', 1],
      ['exec-b', 'stdout', 'order 2 REJECTED: 100%_sure', 1],
      [null, 'stderr', 'outside any invocation', 1],
      [null, 'platform', 'the instance exited unexpectedly (signal SIGSEGV)', 1],
    ]);
    expect(reply.json.lines[0]).toMatchObject({ instance, at: expect.any(String), id: expect.stringMatching(/^\d+$/) });

    expect((await logs('?execution=exec-a')).json.lines.map((l: { text: string }) => l.text)).toEqual(['order 1 accepted']);
    // Case-insensitive, and % and _ are the text's own.
    expect((await logs(`?contains=${encodeURIComponent('rejected: 100%_')}`)).json.lines).toHaveLength(1);
    expect((await logs(`?contains=${encodeURIComponent('1%')}`)).json.lines).toHaveLength(0);
    expect((await logs('?release=1')).json.lines).toHaveLength(4);
    expect((await logs('?release=2')).json.lines).toHaveLength(0);
    expect((await logs('?since=10m')).json.lines).toHaveLength(4);
    expect((await logs(`?until=${encodeURIComponent(new Date(Date.now() - 600_000).toISOString())}`)).json.lines).toHaveLength(0);
  });

  it('pages with a cursor, without losing or repeating a line', async () => {
    await ship(Array.from({ length: 7 }, (_, i) => ({ e: 'exec-page', s: 'stderr' as const, x: `page line ${i}` })));
    await waitFor(
      async () => ((await logs('?execution=exec-page')).json.lines.length === 7 ? true : undefined),
      10_000,
      'the lines stored',
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await logs(`?execution=exec-page&limit=3&since=1h${cursor ? `&cursor=${cursor}` : ''}`);
      pages++;
      seen.push(...page.json.lines.map((l: { text: string }) => l.text));
      cursor = page.json.cursor;
      if (!page.json.more) break;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `page line ${i}`));
    // The tail: the most recent lines, oldest first.
    expect((await logs('?execution=exec-page&limit=2')).json.lines.map((l: { text: string }) => l.text)).toEqual([
      'page line 5',
      'page line 6',
    ]);
  });

  it('pages across the chunks the lines were stored in, in the order they came', async () => {
    const sizes = [3, 1, 4, 2];
    let n = 0;
    for (const size of sizes) {
      await ship(Array.from({ length: size }, () => ({ e: 'exec-chunks', s: 'stderr' as const, x: `chunk line ${n++}` })));
    }
    await waitFor(
      async () => ((await logs('?execution=exec-chunks')).json.lines.length === n ? true : undefined),
      10_000,
      'the lines stored',
    );
    const seen: string[] = [];
    let cursor = '0';
    for (;;) {
      const page = await logs(`?execution=exec-chunks&limit=3&cursor=${cursor}`);
      seen.push(...page.json.lines.map((l: { text: string }) => l.text));
      cursor = page.json.cursor;
      if (!page.json.more) break;
    }
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => `chunk line ${i}`));
    expect((await logs('?execution=exec-chunks&limit=5')).json.lines.map((l: { text: string }) => l.text)).toEqual(seen.slice(-5));
  });

  it('stores a line with a NUL or half a surrogate pair, each as U+FFFD, and its neighbours with it', async () => {
    await ship([
      { e: 'exec-odd', s: 'stderr', x: 'nul \u0000 here' },
      { e: 'exec-odd', s: 'stderr', x: 'half \ud800 pair' },
      { e: 'exec-odd', s: 'stderr', x: 'plain' },
    ]);
    const lines = await waitFor(
      async () => {
        const page = await logs('?execution=exec-odd');
        return page.json.lines.length === 3 ? page.json.lines : undefined;
      },
      10_000,
      'the odd lines stored',
    );
    expect(lines.map((l: { text: string }) => l.text)).toEqual(['nul \uFFFD here', 'half \uFFFD pair', 'plain']);
  });

  it('stores an entry read twice once', async () => {
    const repository = api.app.get(LogsRepository);
    const line = {
      appId,
      releaseId,
      instanceId: instance,
      seq: 0,
      executionId: 'exec-twice',
      stream: 'stderr' as const,
      text: 'once',
      at: new Date(),
    };
    const entry = { entryId: `0-${randomUUID()}`, appId, releaseId, lines: [line] };
    expect(await repository.store([entry])).toBe(1);
    expect(await repository.store([entry])).toBe(0);
    expect((await logs('?execution=exec-twice')).json.lines.map((l: { text: string }) => l.text)).toEqual(['once']);
  });

  it("shows an app's logs to its org only", async () => {
    const other = await env.org();
    const reply = await api.call('GET', `/v1/orgs/${org.slug}/apps/fn/logs`, { key: other.key });
    expect(reply.status).toBe(404);
    const theirs = await api.call('GET', `/v1/orgs/${other.slug}/apps/fn/logs`, { key: other.key });
    expect(theirs.status).toBe(404);
    expect(theirs.json).toMatchObject({ code: 'not_found' });
  });

  it('refuses a bad query, saying what was wrong', async () => {
    const reply = await logs('?since=yesterday&limit=5000&cursor=abc');
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/since must be an ISO 8601 time .* or a duration back from now/);
    expect(reply.text).toMatch(/cursor must be the id of a line/);
    expect(reply.text).toMatch(/limit/);
  });

  it('follows the log live: a line shipped after the follow started arrives as an event', async () => {
    const response = await request(`${api.url}${base()}/logs/follow?execution=exec-live`, {
      headers: { authorization: `Bearer ${org.key}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    const received: string[] = [];
    response.body.setEncoding('utf8');
    response.body.on('data', (chunk: string) => received.push(chunk));
    // The follow starts after what is stored: a line from before is not sent.
    await ship([{ e: 'exec-live', s: 'stderr', x: 'live line' }]);
    const event = await waitFor(
      () => received.join('').match(/event: line\nid: (\d+)\ndata: (.*)\n\n/) ?? undefined,
      10_000,
      'the live line',
    );
    expect(JSON.parse(event[2]!)).toMatchObject({ executionId: 'exec-live', text: 'live line' });
    response.body.destroy();

    // Resuming with Last-Event-ID: what came after that line, nothing before.
    await ship([{ e: 'exec-live', s: 'stderr', x: 'while away' }]);
    const again = await request(`${api.url}${base()}/logs/follow?execution=exec-live`, {
      headers: { authorization: `Bearer ${org.key}`, 'last-event-id': event[1]! },
    });
    const later: string[] = [];
    again.body.setEncoding('utf8');
    again.body.on('data', (chunk: string) => later.push(chunk));
    await waitFor(() => (later.join('').includes('while away') ? true : undefined), 10_000, 'the line shipped while away');
    expect(later.join('')).not.toContain('"live line"');
    again.body.destroy();
  });

  it("gives an invocation with its own lines, and the function's figures by cause", async () => {
    const at = Date.now();
    const record = (executionId: string, statusCode: number, error: string | null, cold = false, durationMs = 10) => ({
      executionId,
      appId,
      releaseId,
      statusCode,
      durationMs,
      cold,
      error,
      createdAt: new Date(at),
    });
    await env.prisma.invocation.createMany({
      data: [
        record('ok-1', 200, null, true, 5),
        record('ok-2', 200, null, false, 15),
        record('err-1', 500, 'order not found'),
        record('panic-1', 500, 'index out of bounds'),
        record('slow-1', 504, 'the function did not answer within 1000 ms'),
        record('mem-1', 500, 'the function exceeded its memory limit of 128 MiB and was stopped'),
        record('bad-1', 400, 'request body is not valid JSON'),
        record('gone-1', 503, 'no instance could start'),
      ],
    });
    await ship([
      { e: 'panic-1', s: 'stderr', x: 'looking up the order' },
      { e: 'panic-1', s: 'stderr', x: 'panicked at src/lib.rs:9:5: index out of bounds' },
    ]);
    const detail = await waitFor(
      async () => {
        const reply = await api.call('GET', `${base()}/invocations/panic-1`, { key: org.key });
        return reply.json?.invocation?.logs?.length === 2 ? reply : undefined;
      },
      10_000,
      'the invocation with its lines',
    );
    expect(detail.json.invocation).toMatchObject({
      executionId: 'panic-1',
      statusCode: 500,
      releaseNumber: 1,
      logsTruncated: false,
      logs: [{ text: 'looking up the order' }, { text: 'panicked at src/lib.rs:9:5: index out of bounds' }],
    });
    const missing = await api.call('GET', `${base()}/invocations/nope`, { key: org.key });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatch(/invocation "nope" of app "fn" not found/);

    const stats = await api.call('GET', `${base()}/stats?window=1h`, { key: org.key });
    expect(stats.status).toBe(200);
    expect(stats.json.stats).toMatchObject({
      window: '1h',
      invocations: 8,
      errors: 5,
      errorRate: 5 / 8,
      errorsByKind: { handler: 1, panic: 1, timeout: 1, memory: 1, crash: 0, platform: 1 },
      clientErrors: 1,
      coldStarts: 1,
      coldStartRatio: 1 / 8,
      durationMs: { p50: 10 },
    });
    expect(stats.json.stats.releases).toEqual([expect.objectContaining({ releaseNumber: 1, invocations: 8 })]);
    expect((await api.call('GET', `${base()}/stats?window=forever`, { key: org.key })).status).toBe(400);
  });
});
