import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@ignite/testing';
import openapiTS, { astToString } from 'openapi-typescript';
import { consoleDir } from '../console/serve-console';
import { type TestApi, TestEnv } from './harness';

// The console is a client of the public API only: its typed calls are generated from the API's
// own OpenAPI document, and this keeps them the same (UPDATE_API_TYPES=1 rewrites them). And the
// API serves it: the page for every console path, its assets, and a JSON error when it is absent.
const GENERATED = join(repoRoot, 'apps', 'console', 'src', 'api', 'generated', 'openapi.d.ts');
const HEADER =
  "// Generated from the API's OpenAPI document by apps/api/src/e2e/console.e2e.spec.ts (UPDATE_API_TYPES=1). Do not edit.\n\n";

describe('the web console and the API', () => {
  const env = new TestEnv();
  let api: TestApi;

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
  });
  afterAll(() => env.teardown());

  it("types its calls from the API's OpenAPI document, as it is now", async () => {
    const document = (await api.call('GET', '/docs-json')).json;
    const generated = HEADER + astToString(await openapiTS(document));
    if (process.env.UPDATE_API_TYPES === '1') writeFileSync(GENERATED, generated);
    const checkedIn = readFileSync(GENERATED, 'utf8');
    if (checkedIn !== generated) {
      throw new Error(
        `apps/console/src/api/generated/openapi.d.ts is not the API's document of now: run UPDATE_API_TYPES=1 npm test -- apps/api/src/e2e/console.e2e.spec.ts, then fix what tsc -p apps/console says`,
      );
    }
  });

  it('serves the page for every console path, with a policy that keeps it to this origin', async () => {
    const built = readFileSync(join(consoleDir({}), 'index.html'), 'utf8');
    for (const path of ['/console', '/console/', '/console/apps/hello/invocations']) {
      const page = await api.call('GET', path);
      expect(page.status).toBe(200);
      expect(page.text).toBe(built);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(built)?.[1];
    expect(script).toBeDefined();
    const asset = await api.call('GET', script as string);
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');

    const missing = await api.call('GET', '/console/assets/index-gone.js');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'not_found' });
  });

  it('says how to build it when it is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ignite-console-'));
    const bare = await env.start({ CONSOLE_DIR: empty });
    try {
      const page = await bare.call('GET', '/console/apps');
      expect(page.status).toBe(503);
      expect(page.json).toEqual({ code: 'unavailable', error: expect.stringContaining('npm start builds it') });
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
