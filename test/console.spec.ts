import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tarGzOf, waitFor, writeFunctionSource } from '@ignite/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { TestPlatform } from './support/platform';

// The web console in a real headless Chromium (Debian's, driven by playwright-core) against the
// whole platform: a user signs in, creates an app, watches its build live, publishes, invokes,
// reads the invocation's log, rolls back, and sees the API's own words when it refuses. The main
// views are photographed into apps/console/screenshots (the README shows them).
jest.setTimeout(900_000);

const chromiumPath = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
const SCREENSHOTS = join(repoRoot, 'apps', 'console', 'screenshots');

const handler = (greeting: string) => `use ignite::prelude::*;
use serde_json::json;

#[ignite::main]
async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    let message: String = req.field("message").unwrap_or_else(|_| "nothing".to_string());
    eprintln!("console marker {message}");
    Ok(json!({ "greeting": "${greeting}", "message": message, "execution_id": ctx.execution_id() }))
}
`;

const BROKEN = `use ignite::prelude::*;

#[ignite::main]
async fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    Ok(undefined_value)
}
`;

describe('the web console in a real browser', () => {
  const platform = new TestPlatform();
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let key = '';
  const sources: string[] = [];
  /** Every request the page made that left the platform's origin (there must be none). */
  const foreign: string[] = [];
  const app = 'hello';

  const url = (path: string) => `${platform.apiUrl}/console${path}`;
  const shoot = async (name: string) => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  async function saveDraft(greeting: string, files: Record<string, string> = { 'src/lib.rs': handler(greeting) }) {
    const dir = writeFunctionSource('console-hello', files);
    sources.push(dir);
    const saved = await platform.call('PUT', `/apps/${app}/draft`, new Uint8Array(await tarGzOf(dir)), {
      'content-type': 'application/gzip',
    });
    expect(saved.status).toBe(200);
  }
  const buildStatus = async (buildId: string) => (await platform.call('GET', `/apps/${app}/builds/${buildId}`)).json.build.status as string;

  beforeAll(async () => {
    expect(chromiumPath).not.toBe('');
    await platform.start();
    const created = await platform.call('POST', '/keys', { name: 'console' });
    expect(created.status).toBe(201);
    key = created.json.secret;
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.route('**/*', (route) => {
      const target = new URL(route.request().url());
      if (target.origin === platform.apiUrl) return route.continue();
      foreign.push(target.toString());
      return route.abort();
    });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await platform.stop();
    for (const dir of sources) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong key with the API’s message, then signs in from the keyboard and shows the org', async () => {
    await page.goto(url('/'));
    await page.waitForURL(url('/sign-in'));
    await page.locator('#api-key').waitFor();
    // The key field is the first stop of the keyboard.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('api-key');
    await page.keyboard.type('ign_not-a-real-key');
    await page.keyboard.press('Enter');
    const refused = await fetch(`${platform.apiUrl}/v1/whoami`, { headers: { authorization: 'Bearer ign_not-a-real-key' } });
    const expected = ((await refused.json()) as { error: string }).error;
    await page.getByRole('alert').getByText(expected).waitFor();

    await page.fill('#api-key', key);
    await page.keyboard.press('Enter');
    await page.getByTestId('org-name').getByText(platform.org, { exact: true }).waitFor();
    await page.getByText('No apps yet.').waitFor();
  });

  it('creates an app from the form, and shows the API’s message when it refuses the same name', async () => {
    await page.getByText('New app').click();
    await page.fill('#app-name', app);
    await page.fill('#app-env', 'GREETING=hi');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.waitForURL(url(`/apps/${app}`));
    await page.getByText('Nothing published yet.').waitFor();
    expect((await platform.call('GET', `/apps/${app}`)).json.app).toMatchObject({
      name: app,
      rustTarget: 'native',
      env: { GREETING: 'hi' },
    });

    await page.goto(url('/'));
    await page.getByText('New app').click();
    await page.fill('#app-name', app);
    await page.getByRole('button', { name: 'Create app' }).click();
    const again = await platform.call('POST', '/apps', { name: app, runtime: 'rust' });
    expect(again.status).toBe(409);
    await page.getByRole('alert').getByText(again.json.error).waitFor();
    await page.getByRole('alert').getByText(again.json.code).waitFor();
  });

  it('streams the build log into the live build view while the build runs, then publishes', async () => {
    await saveDraft('first');
    await page.goto(url(`/apps/${app}`));
    await page.getByText('Draft revision').waitFor();
    await page.getByRole('button', { name: 'Compile draft' }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/);
    const buildId = page.url().split('/').pop() as string;
    const lines = page.getByTestId('build-log').locator('.log-line');

    // Lines on the page while the API still says the build is running: they came live.
    const seenWhileRunning = await waitFor(
      async () => {
        const status = await buildStatus(buildId);
        const count = await lines.count();
        if (status !== 'running' && status !== 'queued') throw new Error(`the build ended (${status}) before the page showed a line`);
        return status === 'running' && count > 0 ? count : undefined;
      },
      600_000,
      'a build log line on the page while the build runs',
    );
    expect(seenWhileRunning).toBeGreaterThan(0);
    await shoot('build-live');
    await page.getByTestId('log-stream').getByText('ended').waitFor({ timeout: 600_000 });
    expect(await buildStatus(buildId)).toBe('succeeded');
    await page.locator('h2 .pill', { hasText: 'succeeded' }).waitFor();
    const stored = (await platform.call('GET', `/apps/${app}/builds/${buildId}/logs`)).text.trimEnd().split('\n');
    expect(await lines.count()).toBe(stored.length);
    expect(seenWhileRunning).toBeLessThan(stored.length);

    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.locator('.active-row').getByText('#1').waitFor();
    expect((await platform.call('GET', `/apps/${app}`)).json.app.activeReleaseNumber).toBe(1);
  });

  it('invokes from the form, and clicks through to the invocation and its log line', async () => {
    await page.getByRole('link', { name: 'Invoke', exact: true }).click();
    await page.fill('#invoke-payload', '{"message": "from the console"}');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('invoke-status').getByText('200').waitFor();
    const body = JSON.parse((await page.getByTestId('invoke-body').textContent()) ?? '');
    expect(body).toMatchObject({ greeting: 'first', message: 'from the console' });
    await page.getByText('x-ignite-execution-id').waitFor();
    await shoot('invoke');

    await page.getByRole('link', { name: 'this invocation and its log' }).click();
    await page.waitForURL(new RegExp(`/invocations/${body.execution_id}$`));
    await page.getByTestId('function-log').getByText('console marker from the console').waitFor({ timeout: 20_000 });
    await shoot('invocation');

    await page.getByRole('link', { name: '← Invocations' }).click();
    await page.getByRole('link', { name: body.execution_id }).waitFor();
    await shoot('invocations');
  });

  it('tails the app’s log live', async () => {
    await page.getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByTestId('tail-state').getByText('live').waitFor();
    const answer = await platform.invoke(app, { message: 'while tailing' });
    expect(answer.status).toBe(200);
    await page.getByTestId('function-log').getByText('console marker while tailing').waitFor({ timeout: 20_000 });
  });

  it('pages back to older invocations', async () => {
    // One after another: a page ends at a time, so two invocations of the same millisecond could straddle it.
    for (let i = 0; i < 100; i++) expect((await platform.invoke(app, { message: `page ${i}` })).status).toBe(200);
    // Records arrive from the data plane a moment after the answers.
    const total = await waitFor(
      async () => {
        const count = (await platform.call('GET', `/apps/${app}/invocations?limit=500`)).json.invocations.length as number;
        return count >= 102 ? count : undefined;
      },
      20_000,
      'the 102 invocation records',
    );
    await page.getByRole('link', { name: 'Invocations', exact: true }).click();
    const rows = page.locator('.data-table tbody tr');
    await waitFor(async () => ((await rows.count()) === 100 ? true : undefined), 15_000, 'a full first page');
    await page.getByRole('button', { name: 'Older' }).click();
    await page.waitForURL(/[?&]before=/);
    await waitFor(async () => ((await rows.count()) === total - 100 ? true : undefined), 15_000, 'the older page');
    await page.getByRole('button', { name: 'Newest' }).click();
    await waitFor(async () => ((await rows.count()) === 100 ? true : undefined), 15_000, 'the newest page again');
  });

  it('shows the figures as charts', async () => {
    await page.getByRole('link', { name: 'Figures', exact: true }).click();
    const totals = page.getByTestId('figures-totals');
    await totals.waitFor();
    const stats = (await platform.call('GET', `/apps/${app}/stats?window=1h`)).json.stats;
    expect(stats.invocations).toBeGreaterThanOrEqual(2);
    await totals.getByText(String(stats.invocations), { exact: true }).waitFor();
    await page.locator('.recharts-bar-rectangle').first().waitFor();
    expect(await page.locator('.chart .recharts-wrapper').count()).toBe(4);
    await shoot('figures');
  });

  it('rolls back to the previous release in one click and a confirmation', async () => {
    await saveDraft('second');
    await platform.compile(app);
    expect((await platform.call('POST', `/apps/${app}/releases`)).status).toBe(201);
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.reload();
    await page.locator('.active-row').getByText('#2').waitFor();
    await page.getByRole('button', { name: 'Activate #1' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Make release #1 the active one?').waitFor();
    await shoot('rollback');
    await dialog.getByRole('button', { name: 'Activate #1' }).click();
    await page.locator('.active-row').getByText('#1').waitFor();
    expect((await platform.call('GET', `/apps/${app}`)).json.app.activeReleaseNumber).toBe(1);
    expect((await platform.invoke(app, { message: 'after rollback' })).json).toMatchObject({ greeting: 'first' });
    await shoot('app');
  });

  it('links each compiler error of a failed build to its message in the log', async () => {
    await saveDraft('broken', { 'src/lib.rs': BROKEN });
    await page.getByRole('button', { name: 'Compile draft' }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/);
    const link = page.getByTestId('diagnostics').getByRole('link', { name: /^src\/lib\.rs:5:8$/ });
    await link.waitFor({ timeout: 600_000 });
    await link.click();
    const target = page.locator('.log-line.highlight');
    await target.waitFor();
    expect(await target.textContent()).toContain('--> src/lib.rs:5:8');
    await shoot('build-failed');
  });

  it('lists the apps with their last hour, at laptop and phone widths', async () => {
    await page.goto(url('/'));
    const row = page.locator('tr', { has: page.getByRole('link', { name: app }) });
    await row.getByText('#1').waitFor();
    const invocations = (await platform.call('GET', `/apps/${app}/stats?window=1h`)).json.stats.invocations as number;
    await row.getByText(String(invocations), { exact: true }).waitFor();
    await shoot('apps');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await row.getByText('#1').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await shoot('apps-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('deletes the app after a confirmation, and signs out', async () => {
    await page.goto(url(`/apps/${app}`));
    await page.getByRole('button', { name: 'Delete app' }).click();
    await page
      .getByRole('dialog')
      .getByRole('button', { name: `Delete ${app}` })
      .click();
    await page.waitForURL(new RegExp(`^${url('')}/?$`));
    await page.getByText('No apps yet.').waitFor();
    expect((await platform.call('GET', `/apps/${app}`)).status).toBe(404);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(url('/sign-in'));
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('made no request outside the platform', () => {
    expect(foreign).toEqual([]);
  });
});
