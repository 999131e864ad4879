import type { FunctionLogLineView } from '@ignite/contracts';
import type { Command } from 'commander';
import type { LogQuery } from '../api-client';
import type { Output } from '../output';
import { type AppRef, UsageError } from '../refs';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

interface LogsOptions {
  follow?: boolean;
  execution?: string;
  since?: string;
  until?: string;
  contains?: string;
  release?: string;
  limit: string;
}

/** After the follow ended (the API restarted, the network): connect again this much later, from the last line. */
const RECONNECT_MS = 1_000;

/** A line for people: time, stream when it is not stderr, execution, text. JSON: the line's view, one per line. */
export function formatLogLine(out: Output, line: FunctionLogLineView): string {
  if (out.json) return JSON.stringify(line);
  const { dim, yellow, cyan } = out.colors;
  const execution = line.executionId === null ? dim('-') : cyan(line.executionId);
  const stream = line.stream === 'stderr' ? '' : ` ${line.stream === 'platform' ? yellow('[platform]') : dim(`[${line.stream}]`)}`;
  return `${dim(line.at)} ${dim(`r${line.releaseNumber ?? '?'}`)} ${execution}${stream} ${line.text}`;
}

function queryOf(opts: LogsOptions): LogQuery {
  const query: LogQuery = {};
  if (opts.execution !== undefined) query.execution = opts.execution;
  if (opts.since !== undefined) query.since = opts.since;
  if (opts.until !== undefined) query.until = opts.until;
  if (opts.contains !== undefined) query.contains = opts.contains;
  if (opts.release !== undefined) {
    if (!/^[1-9]\d*$/.test(opts.release)) throw new UsageError(`--release must be a release number, got "${opts.release}"`);
    query.release = Number(opts.release);
  }
  if (!/^[1-9]\d*$/.test(opts.limit) || Number(opts.limit) > 1_000) {
    throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${opts.limit}"`);
  }
  query.limit = Number(opts.limit);
  return query;
}

/**
 * Follows the log until Ctrl-C: Server-Sent Events from the API, each `line` event printed as it
 * comes; a follow that ends (the API restarted) is taken up again after the last line it gave.
 */
async function follow(ctx: CommandContext, ref: AppRef, query: LogQuery, cursor: string | null): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const { limit: _limit, ...filters } = query;
  let last = cursor;
  try {
    while (!stop.signal.aborted) {
      try {
        const stream = await ctx.client.followLogs(ref, last === null ? filters : { ...filters, cursor: last }, stop.signal);
        const decoder = new TextDecoder();
        let buffered = '';
        for await (const chunk of stream) {
          buffered += decoder.decode(chunk, { stream: true });
          let end = buffered.indexOf('\n\n');
          while (end !== -1) {
            const event = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            end = buffered.indexOf('\n\n');
            const data = /^data: (.*)$/m.exec(event);
            if (!/^event: line$/m.test(event) || data === null) continue;
            const line = JSON.parse(data[1]!) as FunctionLogLineView;
            last = line.id;
            process.stdout.write(`${formatLogLine(ctx.out, line)}\n`);
          }
        }
      } catch (error) {
        if (stop.signal.aborted) return;
        // A refusal (a bad filter, no such app) will not get better by trying again.
        if ((error as { status?: number }).status !== undefined) throw error;
      }
      if (stop.signal.aborted) return;
      ctx.out.note(ctx.out.colors.dim('(the log stream ended; reconnecting)'));
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerLogsCommand(program: Command, run: Run, example: (line: string) => string): void {
  program
    .command('logs')
    .description("the function's log lines (eprintln! output, with the invocation each belongs to), most recent last")
    .argument('<ref>', 'ORG:APP or APP')
    .option('-f, --follow', 'keep printing lines as they are written, until Ctrl-C')
    .option('--execution <id>', 'only the lines of one invocation (its execution id, as `invoke --verbose` prints it)')
    .option('--since <when>', 'lines from then on: a duration back from now (90s, 10m, 2h, 7d) or an ISO 8601 time')
    .option('--until <when>', 'lines before then (same forms as --since)')
    .option('--contains <text>', 'only lines containing this text (case-insensitive)')
    .option('--release <number>', 'only the lines of this release')
    .option('--limit <count>', 'how many lines (without --since: the most recent ones)', '100')
    .addHelpText(
      'after',
      `${example('logs org:hello --since 10m')}\n  $ ignite logs org:hello --follow\n  $ ignite logs org:hello --execution 019a…`,
    )
    .action(function (this: Command, text: string) {
      const opts = this.opts<LogsOptions>();
      return run(async (ctx) => {
        const ref = ctx.ref(text);
        const query = queryOf(opts);
        const page = await ctx.client.logs(ref, query);
        for (const line of page.lines) process.stdout.write(`${formatLogLine(ctx.out, line)}\n`);
        if (opts.follow) {
          await follow(ctx, ref, query, page.cursor);
          return;
        }
        if (page.lines.length === 0) ctx.out.note(ctx.out.colors.dim('(no lines)'));
        if (page.more) ctx.out.note(ctx.out.colors.dim(`(more lines: --since with a later time, or --limit up to 1000)`));
      })();
    });
}
