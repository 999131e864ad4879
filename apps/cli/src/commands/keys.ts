import type { Command } from 'commander';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

export function registerKeyCommands(program: Command, run: Run, example: (line: string) => string): void {
  const key = program.command('key').description("create, list and revoke the org's API keys");

  key
    .command('create')
    .description('create an API key (its secret is printed once, never again)')
    .argument('<name>', 'what the key is for')
    .addHelpText('after', example('key create ci'))
    .action((name: string) =>
      run(async (ctx) => {
        const created = await ctx.client.createKey(ctx.config.org, name);
        ctx.out.result(
          created,
          () => `${created.secret}\n(key ${created.key.id}, "${created.key.name}": keep the secret, it is not shown again)`,
        );
      })(),
    );

  key
    .command('list')
    .description('list the keys of the org, revoked ones included')
    .addHelpText('after', example('key list'))
    .action(
      run(async (ctx) => {
        const keys = await ctx.client.listKeys(ctx.config.org);
        ctx.out.result(keys, () =>
          ctx.out.table(
            keys.map((k) => ({
              id: k.id,
              name: k.name,
              prefix: `ign_${k.prefix}…`,
              used: k.lastUsedAt ?? '-',
              revoked: k.revokedAt ?? '-',
            })),
            ['id', 'name', 'prefix', 'used', 'revoked'],
          ),
        );
      }),
    );

  key
    .command('revoke')
    .description('revoke a key: refused everywhere from now on')
    .argument('<id>', 'the key id (see `key list`)')
    .addHelpText('after', example('key revoke 0190a5e2-…'))
    .action((id: string) =>
      run(async (ctx) => {
        await ctx.client.revokeKey(ctx.config.org, id);
        ctx.out.result({ revoked: id }, () => `revoked key ${id}`);
      })(),
    );
}
