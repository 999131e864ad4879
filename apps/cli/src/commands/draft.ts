import type { Command } from 'commander';
import type { CommandContext } from './context';
import { buildOutcome, compileDraft, publishedText, saveDraft } from './draft-steps';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

export function registerDraftCommands(program: Command, run: Run, example: (line: string) => string): void {
  const draft = program.command('draft').description("save, compile and publish an app's source");

  draft
    .command('save')
    .description('upload the source: a directory (packed as tar.gz) or a .tar.gz/.zip archive')
    .argument('<ref>', 'ORG:APP or APP')
    .requiredOption('--code <path>', 'the project directory (Cargo.toml at its root) or an archive')
    .addHelpText('after', example('draft save org:hello --code ./'))
    .action(function (this: Command, ref: string) {
      const { code } = this.opts<{ code: string }>();
      return run(async (ctx) => {
        const { saved, text } = await saveDraft(ctx, ctx.ref(ref), code);
        ctx.out.result(saved, () => text);
      })();
    });

  draft
    .command('compile')
    .description('build the current draft and follow the build')
    .argument('<ref>', 'ORG:APP or APP')
    .option('--no-wait', 'print the build id and return at once')
    .option('--quiet', 'hide the build log; show only progress and the result')
    .addHelpText('after', example('draft compile org:hello'))
    .action(function (this: Command, ref: string) {
      const opts = this.opts<{ wait: boolean; quiet?: boolean }>();
      return run(async (ctx) => {
        const target = ctx.ref(ref);
        if (!opts.wait) {
          const build = await ctx.client.compile(target);
          ctx.out.result(build, () => build.id);
          return;
        }
        const finished = await compileDraft(ctx, target, Boolean(opts.quiet));
        ctx.out.result(finished, () => buildOutcome(ctx, finished));
        if (finished.status !== 'succeeded') process.exitCode = 1;
      })();
    });

  draft
    .command('publish')
    .description('promote the latest successful build of the current draft to a new release')
    .argument('<ref>', 'ORG:APP or APP')
    .addHelpText('after', example('draft publish org:hello'))
    .action((ref: string) =>
      run(async (ctx) => {
        const target = ctx.ref(ref);
        const release = await ctx.client.publish(target);
        ctx.out.result(release, () => publishedText(target, release));
      })(),
    );
}
