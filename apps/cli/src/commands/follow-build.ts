import type { BuildView } from '@ignite/contracts';
import type { CommandContext } from './context';

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Streams a build's log until the build ends, with a live status line on a terminal; returns the
 * finished build.
 */
export async function followBuild(ctx: CommandContext, org: string, buildId: string, quiet: boolean): Promise<BuildView> {
  const live = Boolean(process.stderr.isTTY) && !ctx.out.json;
  const started = Date.now();
  let status = 'queued';
  const ticker = live
    ? setInterval(() => process.stderr.write(`\r\x1b[2K${status}… ${Math.round((Date.now() - started) / 1000)} s`), 250)
    : undefined;
  const clearLine = () => live && process.stderr.write('\r\x1b[2K');
  try {
    const stream = await ctx.client.buildLogs(org, buildId, true);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\s*Compiling /.test(line)) status = 'compiling';
        if (!quiet) {
          clearLine();
          process.stderr.write(`${line}\n`);
        }
      }
    }
    // The log ends with the build; read the final state (retry briefly in case the row lags).
    for (;;) {
      const build = await ctx.client.getBuild(org, buildId);
      if (TERMINAL.has(build.status)) return build;
      status = build.status;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    if (ticker) clearInterval(ticker);
    clearLine();
  }
}
