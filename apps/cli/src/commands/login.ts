import type { Command } from 'commander';
import { saveCliConfig } from '../cli-config';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

export function registerLoginCommand(program: Command, run: Run, example: (line: string) => string): void {
  program
    .command('login')
    .description('use a remote platform: store its URL and an API key (the local platform needs no login)')
    .requiredOption('--url <url>', 'the API URL')
    .requiredOption('--key <key>', 'an API key of the org')
    .option('--org <org>', 'the org the key belongs to', 'org')
    .option('--invoke-url <url>', "where invocations go (the data plane's public URL; default: the API URL)")
    .addHelpText('after', example('login --url https://ignite.example.com --key ign_... --org acme'))
    .action(function (this: Command) {
      const opts = this.opts<{ url: string; key: string; org: string; invokeUrl?: string }>();
      return run(async (ctx) => {
        const path = saveCliConfig({
          url: opts.url.replace(/\/+$/, ''),
          key: opts.key,
          org: opts.org,
          ...(opts.invokeUrl === undefined ? {} : { invokeUrl: opts.invokeUrl.replace(/\/+$/, '') }),
        });
        ctx.out.result(
          { url: opts.url, org: opts.org, config: path },
          () => `logged in to ${opts.url} as org ${opts.org} (saved in ${path})`,
        );
      })();
    });
}
