import type { Command } from 'commander';
import { formatBytes } from '../output';
import type { CommandContext } from './context';
import { followBuild } from './follow-build';

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
        const target = ctx.ref(ref);
        // Loaded here: tar and the ignore rules are the draft's, not every command's start.
        const { packSource } = require('../pack-source') as typeof import('../pack-source.js');
        const packed = await packSource(code);
        const saved = await ctx.client.saveDraft(target, packed.archive, packed.contentType);
        ctx.out.result({ ...saved, files: packed.files }, () => {
          const what = packed.files > 0 ? `${packed.files} files, ` : '';
          return `saved draft revision ${saved.revision} of ${target.org}:${target.app} (${what}${formatBytes(saved.size)}, sha256 ${saved.sha256})`;
        });
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
        const build = await ctx.client.compile(target);
        if (!opts.wait) {
          ctx.out.result(build, () => build.id);
          return;
        }
        ctx.out.note(`build ${build.id} ${build.status} (draft revision ${build.draftRevision}, ${build.target})`);
        const finished = await followBuild(ctx, target.org, build.id, Boolean(opts.quiet) || ctx.out.json);
        ctx.out.result(finished, () => {
          if (finished.status === 'succeeded') {
            const secs = finished.buildMs !== null ? ` in ${(finished.buildMs / 1000).toFixed(1)} s` : '';
            return ctx.out.colors.green(
              `build succeeded${secs}: artifact ${finished.artifactSha256} (${formatBytes(finished.artifactSize ?? 0)}, ${finished.toolchain})`,
            );
          }
          const errors = Array.isArray(finished.diagnostics) ? (finished.diagnostics as string[]) : [];
          return [
            ctx.out.colors.red(`build ${finished.status}: ${finished.errorSummary ?? 'no reason given'}`),
            ...errors.slice(0, 10).map((e) => `  ${e}`),
          ].join('\n');
        });
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
        ctx.out.result(
          release,
          () => `published ${target.org}:${target.app} release ${release.number} (${release.target}, sha256 ${release.artifactSha256})`,
        );
      })(),
    );
}
