import { createLogger, loadConfigOrExit } from '@ignite/service-kit';
import { RunnerConfigSchema } from './config';
import { SandboxUnavailableError } from './native/sandbox';
import { Runner } from './runner';

async function main(): Promise<void> {
  const config = loadConfigOrExit('runner', RunnerConfigSchema);
  const logger = createLogger('runner', config.LOG_LEVEL);
  const runner = new Runner(config, { logger, defaultMetrics: true });

  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    runner.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await runner.start();
}

main().catch((error: unknown) => {
  if (error instanceof SandboxUnavailableError) {
    process.stderr.write(`runner: could not start: ${error.message}\nfix: ${error.fix}\n`);
    process.exit(1);
  }
  process.stderr.write(`runner: could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
