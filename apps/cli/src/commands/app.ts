import { createInterface } from 'node:readline/promises';
import { type Command, Option } from 'commander';
import { UsageError } from '../refs';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

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
    .addHelpText('after', example('app create hello --runtime rust --rust-target native'))
    .action(function (this: Command, name: string) {
      const opts = this.opts<{ runtime: string; rustTarget: string; env: string[] }>();
      return run(async (ctx) => {
        const ref = ctx.ref(name);
        const created = await ctx.client.createApp(ref.org, {
          name: ref.app,
          runtime: opts.runtime,
          rustTarget: opts.rustTarget,
          env: parseEnvPairs(opts.env),
        });
        ctx.out.result(created, () => `created app ${created.org}:${created.name} (${created.runtime}, ${created.rustTarget})`);
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
}
