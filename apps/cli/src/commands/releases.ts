import type { Command } from 'commander';
import { UsageError } from '../refs';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

export function registerReleaseCommands(program: Command, run: Run, example: (line: string) => string): void {
  const releases = program.command('releases').description("list an app's releases and roll back");
  releases
    .command('list')
    .argument('<ref>', 'ORG:APP or APP')
    .description('list releases, newest first')
    .addHelpText('after', example('releases list org:hello'))
    .action((ref: string) =>
      run(async (ctx) => {
        const list = await ctx.client.listReleases(ctx.ref(ref));
        ctx.out.result(list, () =>
          ctx.out.table(
            list.map((r) => ({
              number: r.number,
              active: r.active ? '*' : '',
              target: r.target,
              sha256: r.artifactSha256.slice(0, 16),
              created: r.createdAt,
            })),
            ['number', 'active', 'target', 'sha256', 'created'],
          ),
        );
      })(),
    );
  releases
    .command('rollback')
    .argument('<ref>', 'ORG:APP or APP')
    .argument('<number>', 'the release to make active again')
    .description('make an earlier release active')
    .addHelpText('after', example('releases rollback org:hello 1'))
    .action((ref: string, number: string) =>
      run(async (ctx) => {
        if (!/^\d+$/.test(number)) throw new UsageError(`"${number}" is not a release number`);
        const release = await ctx.client.activateRelease(ctx.ref(ref), Number(number));
        ctx.out.result(release, () => `release ${release.number} is active (${release.target}, sha256 ${release.artifactSha256})`);
      })(),
    );
}
