import { Command, CommanderError } from 'commander';
import { ApiError, ApiUnreachableError } from './api-client';
import { registerAppCommands } from './commands/app';
import { registerBuildCommands } from './commands/builds';
import { registerCompletionCommand } from './commands/completion';
import { CommandContext } from './commands/context';
import { registerDeployCommand } from './commands/deploy';
import { registerDraftCommands } from './commands/draft';
import { registerInitCommand } from './commands/init';
import { registerInvokeCommand } from './commands/invoke';
import { registerKeyCommands } from './commands/keys';
import { registerLoginCommand } from './commands/login';
import { registerLogsCommand } from './commands/logs';
import { registerReleaseCommands } from './commands/releases';
import { registerDevCommand } from './dev/dev-command';
import { UsageError } from './refs';

/**
 * `dodil ignite …` and `ignite …`: the same commands, with or without the `dodil` prefix. Errors
 * are one line on stderr and a non-zero exit: 2 for a wrong command line, 1 for everything else.
 */
export function buildProgram(binary: 'dodil' | 'ignite'): Command {
  const root = new Command(binary).exitOverride().showHelpAfterError('(add --help for usage)');
  const program = binary === 'dodil' ? root.command('ignite').description('Ignite: compile and run Rust functions') : root;
  program.option('--json', 'print machine-readable JSON');
  if (binary === 'ignite') program.description('Ignite: compile and run Rust functions');
  const prefix = binary === 'dodil' ? 'dodil ignite' : 'ignite';
  const example = (line: string) => `\nExample:\n  $ ${prefix} ${line}`;
  const run = (action: (ctx: CommandContext) => Promise<void>) => async () => {
    await action(new CommandContext(Boolean(program.opts<{ json?: boolean }>().json)));
  };
  for (const register of [
    registerInitCommand,
    registerDeployCommand,
    registerDevCommand,
    registerAppCommands,
    registerDraftCommands,
    registerReleaseCommands,
    registerInvokeCommand,
    registerLogsCommand,
    registerBuildCommands,
    registerKeyCommands,
    registerLoginCommand,
  ]) {
    register(program, run, example);
  }
  registerCompletionCommand(root);
  for (const command of [root, program]) command.exitOverride();
  return root;
}

function fail(message: string, code: number): void {
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = code;
}

export async function main(binary: 'dodil' | 'ignite', argv: string[]): Promise<void> {
  try {
    await buildProgram(binary).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the problem (or the help/version text).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (error instanceof UsageError) fail(error.message, 2);
    else if (error instanceof ApiError || error instanceof ApiUnreachableError) fail(error.message, 1);
    else fail((error as Error).message ?? String(error), 1);
  }
}
