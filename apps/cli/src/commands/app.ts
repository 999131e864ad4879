import { type Command, Option } from 'commander';
import { UsageError } from '../refs';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

/** A limit option: a positive whole number, or `default` (null: the runner's). */
function limitOption(value: string): number | null {
  if (value === 'default') return null;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`"${value}" is not a positive whole number or "default"`);
  return Number(value);
}

function parseEnvPairs(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`"${pair}" is not KEY=VALUE`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

export function registerAppCommands(program: Command, run: Run, example: (line: string) => string): void {
  const app = program.command('app').description('create, list, inspect and delete apps');

  app
    .command('create')
    .description('create an app')
    .argument('<name>', 'app name: lower-case letters, digits and -, starting with a letter')
    .addOption(new Option('--runtime <runtime>', 'the runtime').default('rust'))
    .addOption(new Option('--rust-target <target>', 'what the source compiles to: native or wasm').default('native'))
    .option('--env <KEY=VALUE...>', 'environment variables of the function', [])
    .addOption(new Option('--auth <auth>', 'who may invoke it: key (an API key of the org) or public (anyone, no key)').default('key'))
    .addHelpText('after', example('app create hello --runtime rust --rust-target native'))
    .action(function (this: Command, name: string) {
      const opts = this.opts<{ runtime: string; rustTarget: string; env: string[]; auth: string }>();
      return run(async (ctx) => {
        const ref = ctx.ref(name);
        const created = await ctx.client.createApp(ref.org, {
          name: ref.app,
          runtime: opts.runtime,
          rustTarget: opts.rustTarget,
          env: parseEnvPairs(opts.env),
          auth: opts.auth,
        });
        ctx.out.result(
          created,
          () => `created app ${created.org}:${created.name} (${created.runtime}, ${created.rustTarget}, auth ${created.auth})`,
        );
      })();
    });

  app
    .command('update')
    .description('change who may invoke an app (--auth key | public) and its limits (a number, or "default")')
    .argument('<ref>', 'ORG:APP or APP')
    .option('--auth <auth>', 'key (an API key of the org) or public (anyone, no key)')
    .option('--rate-limit <perSecond>', 'most invocations a second, or "default" (the runner\'s)', limitOption)
    .option('--concurrency <count>', 'most invocations at the same time, or "default" (the runner\'s)', limitOption)
    .addHelpText('after', example('app update org:hello --auth public --rate-limit 100'))
    .action(function (this: Command, ref: string) {
      const opts = this.opts<{ auth?: string; rateLimit?: number | null; concurrency?: number | null }>();
      return run(async (ctx) => {
        const change: { auth?: string; rateLimitPerSecond?: number | null; concurrencyLimit?: number | null } = {};
        if (opts.auth !== undefined) change.auth = opts.auth;
        if (opts.rateLimit !== undefined) change.rateLimitPerSecond = opts.rateLimit;
        if (opts.concurrency !== undefined) change.concurrencyLimit = opts.concurrency;
        if (Object.keys(change).length === 0) throw new UsageError('nothing to change: give --auth, --rate-limit or --concurrency');
        const updated = await ctx.client.updateApp(ctx.ref(ref), change);
        const limit = (value: number | null) => (value === null ? 'default' : String(value));
        ctx.out.result(
          updated,
          () =>
            `${updated.org}:${updated.name}: auth ${updated.auth}, rate limit ${limit(updated.rateLimitPerSecond)}/s, concurrency ${limit(updated.concurrencyLimit)}`,
        );
      })();
    });

  app
    .command('list')
    .description('list the apps of the org')
    .addHelpText('after', example('app list'))
    .action(
      run(async (ctx) => {
        const apps = await ctx.client.listApps(ctx.config.org);
        ctx.out.result(apps, () =>
          ctx.out.table(
            apps.map((a) => ({ name: `${a.org}:${a.name}`, target: a.rustTarget, release: a.activeReleaseNumber, updated: a.updatedAt })),
            ['name', 'target', 'release', 'updated'],
          ),
        );
      }),
    );

  app
    .command('get')
    .description('show an app with its draft, latest build and active release')
    .argument('<ref>', 'ORG:APP or APP')
    .addHelpText('after', example('app get org:hello'))
    .action((ref: string) =>
      run(async (ctx) => {
        const found = await ctx.client.getApp(ctx.ref(ref));
        ctx.out.result(found, () =>
          [
            `${ctx.out.colors.bold(`${found.org}:${found.name}`)}  ${found.runtime} ${found.rustTarget}`,
            `draft:    ${found.draft ? `revision ${found.draft.revision}, ${found.draft.size} bytes, ${found.draft.sha256.slice(0, 12)}` : '-'}`,
            `build:    ${found.latestBuild ? `${found.latestBuild.id} ${found.latestBuild.status}` : '-'}`,
            `auth:     ${found.auth}${found.rateLimitPerSecond === null ? '' : `, ${found.rateLimitPerSecond}/s`}${found.concurrencyLimit === null ? '' : `, ${found.concurrencyLimit} at once`}`,
            `release:  ${found.activeRelease ? `${found.activeRelease.number} (${found.activeRelease.target}, ${found.activeRelease.artifactSha256.slice(0, 12)})` : '-'}`,
            `env:      ${Object.keys(found.env).join(', ') || '-'}`,
          ].join('\n'),
        );
      })(),
    );

  app
    .command('delete')
    .description('delete an app with its drafts, builds and releases')
    .argument('<ref>', 'ORG:APP or APP')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText('after', example('app delete org:hello --yes'))
    .action(function (this: Command, ref: string) {
      const { yes } = this.opts<{ yes?: boolean }>();
      return run(async (ctx) => {
        const target = ctx.ref(ref);
        if (!yes) {
          if (!process.stdin.isTTY) throw new UsageError('refusing to delete without confirmation; pass --yes');
          const { createInterface } = require('node:readline/promises') as typeof import('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question(`delete ${target.org}:${target.app} and all its releases? [y/N] `);
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('not deleted');
        }
        await ctx.client.deleteApp(target);
        ctx.out.result({ deleted: `${target.org}:${target.app}` }, () => `deleted ${target.org}:${target.app}`);
      })();
    });

  const env = app.command('env').description("change an app's environment variables");
  env
    .command('set')
    .argument('<ref>', 'ORG:APP or APP')
    .argument('<pairs...>', 'KEY=VALUE pairs')
    .description('set environment variables')
    .addHelpText('after', example('app env set org:hello GREETING=hi'))
    .action((ref: string, pairs: string[]) =>
      run(async (ctx) => {
        const updated = await ctx.client.patchEnv(ctx.ref(ref), { set: parseEnvPairs(pairs) });
        ctx.out.result(updated, () => `env of ${updated.org}:${updated.name}: ${Object.keys(updated.env).join(', ') || '(empty)'}`);
      })(),
    );
  env
    .command('unset')
    .argument('<ref>', 'ORG:APP or APP')
    .argument('<keys...>', 'names to remove')
    .description('remove environment variables')
    .addHelpText('after', example('app env unset org:hello GREETING'))
    .action((ref: string, keys: string[]) =>
      run(async (ctx) => {
        const updated = await ctx.client.patchEnv(ctx.ref(ref), { unset: keys });
        ctx.out.result(updated, () => `env of ${updated.org}:${updated.name}: ${Object.keys(updated.env).join(', ') || '(empty)'}`);
      })(),
    );

  app
    .command('stats')
    .description("an app's figures: invocations, errors by cause, cold starts and durations, per release")
    .argument('<ref>', 'ORG:APP or APP')
    .option('--window <duration>', 'how far back from now: 15m, 1h, 7d', '1h')
    .addHelpText('after', example('app stats org:hello --window 24h'))
    .action(function (this: Command, ref: string) {
      const opts = this.opts<{ window: string }>();
      return run(async (ctx) => {
        if (!/^\d+(s|m|h|d)$/.test(opts.window))
          throw new UsageError(`--window must be a duration such as 15m, 1h or 7d, got "${opts.window}"`);
        const stats = await ctx.client.stats(ctx.ref(ref), opts.window);
        const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.01 ? 2 : 1)}%`;
        const ms = (value: number | null) => (value === null ? '-' : `${value.toFixed(value < 10 ? 2 : 1)} ms`);
        const kinds = Object.entries(stats.errorsByKind)
          .filter(([, count]) => count > 0)
          .map(([kind, count]) => `${kind} ${count}`)
          .join(', ');
        ctx.out.result(stats, () =>
          [
            `${ctx.out.colors.bold(ref)}  last ${stats.window} (since ${stats.since})`,
            `invocations  ${stats.invocations}`,
            `errors       ${stats.errors} (${percent(stats.errorRate)})${kinds ? `: ${kinds}` : ''}`,
            `client 4xx   ${stats.clientErrors}`,
            `cold starts  ${stats.coldStarts} (${percent(stats.coldStartRatio)})`,
            `duration     p50 ${ms(stats.durationMs.p50)}  p90 ${ms(stats.durationMs.p90)}  p99 ${ms(stats.durationMs.p99)}`,
            '',
            ctx.out.table(
              stats.releases.map((release) => ({
                release: release.releaseNumber ?? '-',
                invocations: release.invocations,
                errors: `${release.errors} (${percent(release.errorRate)})`,
                cold: percent(release.coldStartRatio),
                p50: ms(release.durationMs.p50),
                p99: ms(release.durationMs.p99),
              })),
              ['release', 'invocations', 'errors', 'cold', 'p50', 'p99'],
            ),
          ].join('\n'),
        );
      })();
    });
}
