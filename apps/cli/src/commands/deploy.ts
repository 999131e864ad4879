import { type Command, Option } from 'commander';
import { ApiError } from '../api-client';
import { type AppRef, UsageError } from '../refs';
import type { CommandContext } from './context';
import { buildOutcome, compileDraft, publishedText, saveDraft } from './draft-steps';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

const TARGETS = ['native', 'wasm'];

/** Asks a yes/no question on the terminal; no terminal, no answer. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const { createInterface } = require('node:readline/promises') as typeof import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

/** The app to deploy to: as it is, or created (with `--yes`, or when the user says so). */
async function ensureApp(ctx: CommandContext, target: AppRef, rustTarget: string | undefined, yes: boolean): Promise<void> {
  try {
    const app = await ctx.client.getApp(target);
    if (rustTarget !== undefined && rustTarget !== app.rustTarget) {
      throw new UsageError(
        `${target.org}:${target.app} compiles to ${app.rustTarget}, not ${rustTarget}; drop --rust-target, or deploy to a new app`,
      );
    }
    return;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  const what = `${target.org}:${target.app} (rust, ${rustTarget ?? 'native'})`;
  if (!yes && !(await confirm(`app ${target.org}:${target.app} does not exist; create ${what}?`))) {
    throw new UsageError(`app ${target.org}:${target.app} does not exist; add --yes to create it as ${what}`);
  }
  const created = await ctx.client.createApp(target.org, {
    name: target.app,
    runtime: 'rust',
    rustTarget: rustTarget ?? 'native',
    env: {},
    auth: 'key',
  });
  ctx.out.note(`created app ${created.org}:${created.name} (${created.runtime}, ${created.rustTarget}, auth ${created.auth})`);
}

export function registerDeployCommand(program: Command, run: Run, example: (line: string) => string): void {
  program
    .command('deploy')
    .description('save, compile and publish the source in one step, creating the app if it does not exist')
    .argument('<ref>', 'ORG:APP or APP')
    .option('--code <path>', 'the project directory (Cargo.toml at its root) or an archive', '.')
    .addOption(new Option('--rust-target <target>', 'for a new app: native or wasm (default native)').choices(TARGETS))
    .option('-y, --yes', 'create the app without asking when it does not exist')
    .option('--quiet', 'hide the build log; show only progress and the result')
    .addHelpText('after', example('deploy org:hello --code ./'))
    .action(function (this: Command, ref: string) {
      const opts = this.opts<{ code: string; rustTarget?: string; yes?: boolean; quiet?: boolean }>();
      return run(async (ctx) => {
        const target = ctx.ref(ref);
        await ensureApp(ctx, target, opts.rustTarget, Boolean(opts.yes));
        ctx.out.note((await saveDraft(ctx, target, opts.code)).text);
        const finished = await compileDraft(ctx, target, Boolean(opts.quiet));
        if (finished.status !== 'succeeded') {
          ctx.out.result(finished, () => buildOutcome(ctx, finished));
          process.exitCode = 1;
          return;
        }
        ctx.out.note(buildOutcome(ctx, finished));
        const release = await ctx.client.publish(target);
        ctx.out.result(release, () => publishedText(target, release));
        const prefix = program.parent ? `${program.parent.name()} ${program.name()}` : program.name();
        ctx.out.note(`invoke it: ${prefix} invoke ${target.org}:${target.app} -p '{}'`);
      })();
    });
}
