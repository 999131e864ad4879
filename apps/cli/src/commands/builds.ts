import type { Command } from 'commander';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

export function registerBuildCommands(program: Command, run: Run, example: (line: string) => string): void {
  const builds = program.command('builds').description('build logs');
  builds
    .command('logs')
    .argument('<build-id>', 'the build id that `draft compile` printed')
    .option('--follow', 'keep streaming until the build ends')
    .description("print a build's log")
    .addHelpText('after', example('builds logs 0199a3c4-... --follow'))
    .action(function (this: Command, buildId: string) {
      const { follow } = this.opts<{ follow?: boolean }>();
      return run(async (ctx) => {
        const stream = await ctx.client.buildLogs(ctx.config.org, buildId, Boolean(follow));
        for await (const chunk of stream) process.stdout.write(chunk);
      })();
    });

  program
    .command('invocations')
    .description('recent invocations')
    .command('list')
    .argument('<ref>', 'ORG:APP or APP')
    .option('--limit <n>', 'how many', '20')
    .addHelpText('after', example('invocations list org:hello'))
    .action(function (this: Command, ref: string) {
      const { limit } = this.opts<{ limit: string }>();
      return run(async (ctx) => {
        const list = await ctx.client.listInvocations(ctx.ref(ref), Number(limit) || 20);
        ctx.out.result(list, () =>
          ctx.out.table(
            list.map((i) => ({
              execution: i.executionId,
              status: i.statusCode,
              ms: i.durationMs.toFixed(1),
              start: i.cold ? 'cold' : 'warm',
              release: i.releaseNumber,
              at: i.createdAt,
            })),
            ['execution', 'status', 'ms', 'start', 'release', 'at'],
          ),
        );
      })();
    });
}
