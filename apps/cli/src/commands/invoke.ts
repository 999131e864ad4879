import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiError, errorMessage } from '../api-client';
import { type AppRef, UsageError } from '../refs';
import type { CommandContext } from './context';
import { formatLogLine } from './logs';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The payload from -p, -P or standard input; it must be JSON, checked before anything is sent. */
async function payloadOf(opts: { payload?: string; payloadFile?: string }): Promise<string> {
  if (opts.payload !== undefined && opts.payloadFile !== undefined) throw new UsageError('use either -p or -P, not both');
  const [text, from] =
    opts.payload !== undefined
      ? [opts.payload, '-p']
      : opts.payloadFile !== undefined
        ? [readFileSync(opts.payloadFile, 'utf8'), `-P ${opts.payloadFile}`]
        : process.stdin.isTTY
          ? ['{}', 'default']
          : [await readStdin(), 'standard input'];
  if (!text.trim()) return '{}';
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the payload from ${from} is not valid JSON: ${(error as Error).message}`);
  }
  return text;
}

/** How long `--verbose` waits for the call's record (written within about a second of the answer). */
const RECORD_WAIT_MS = 5_000;
/**
 * The call's lines travel apart from its record (the runner ships them every 50 ms), so they may
 * come a moment after it: once the record is there, the lines are read again for at least
 * LOGS_MIN_WAIT_MS and until two reads LOGS_SETTLE_MS apart agree, for at most LOGS_WAIT_MS.
 */
const LOGS_MIN_WAIT_MS = 600;
const LOGS_SETTLE_MS = 250;
const LOGS_WAIT_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The call's own log lines, on stderr, once the platform has recorded the call and its lines. */
async function printCallLogs(ctx: CommandContext, ref: AppRef, executionId: string): Promise<void> {
  const deadline = Date.now() + RECORD_WAIT_MS;
  let invocation: Awaited<ReturnType<typeof ctx.client.getInvocation>>;
  for (;;) {
    try {
      invocation = await ctx.client.getInvocation(ref, executionId);
      break;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404) || Date.now() > deadline) {
        process.stderr.write(`(the call's log is not available yet: ignite logs ${ref.org}:${ref.app} --execution ${executionId})\n`);
        return;
      }
      await sleep(200);
    }
  }
  const recorded = Date.now();
  while (Date.now() < recorded + LOGS_WAIT_MS) {
    await sleep(LOGS_SETTLE_MS);
    const again = await ctx.client.getInvocation(ref, executionId);
    const settled = again.logs.length === invocation.logs.length && Date.now() >= recorded + LOGS_MIN_WAIT_MS;
    invocation = again;
    if (settled) break;
  }
  process.stderr.write(ctx.out.colors.dim(`--- log of ${executionId} (${invocation.logs.length} lines) ---\n`));
  for (const line of invocation.logs) process.stderr.write(`${formatLogLine(ctx.out, line)}\n`);
  if (invocation.logsTruncated)
    process.stderr.write(ctx.out.colors.dim(`(more: ignite logs ${ref.org}:${ref.app} --execution ${executionId})\n`));
}

export function registerInvokeCommand(program: Command, run: Run, example: (line: string) => string): void {
  program
    .command('invoke')
    .description("call the app's active release with a JSON payload; prints the function's JSON")
    .argument('<ref>', 'ORG:APP or APP')
    .option('-p, --payload <json>', 'the JSON payload')
    .option('-P, --payload-file <file>', 'read the JSON payload from a file')
    .option('--verbose', "show status, execution id, duration and cold/warm on stderr, then the call's own log lines")
    .addHelpText('after', example(`invoke org:hello -p '{"message": "hi there"}'`))
    .action(function (this: Command, ref: string) {
      const opts = this.opts<{ payload?: string; payloadFile?: string; verbose?: boolean }>();
      return run(async (ctx) => {
        const payload = await payloadOf(opts);
        const result = await ctx.client.invoke(ctx.ref(ref), payload);
        if (opts.verbose) {
          process.stderr.write(
            `status ${result.status}  execution ${result.executionId ?? '-'}  ${result.durationMs ?? '-'} ms  ${result.cold === 'true' ? 'cold' : 'warm'}  release ${result.release ?? '-'}\n`,
          );
        }
        if (result.status >= 200 && result.status < 300) {
          process.stdout.write(result.body.endsWith('\n') ? result.body : `${result.body}\n`);
        } else {
          let body: unknown = result.body;
          try {
            body = JSON.parse(result.body);
          } catch {}
          process.stderr.write(`error: ${errorMessage(body, { status: result.status })} (HTTP ${result.status})\n`);
          process.exitCode = 1;
        }
        if (opts.verbose && result.executionId !== null) await printCallLogs(ctx, ctx.ref(ref), result.executionId);
      })();
    });
}
