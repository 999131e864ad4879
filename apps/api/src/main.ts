import { createApiApp } from './app';
import { loadApiConfigOrExit } from './config';

async function main(): Promise<void> {
  const config = loadApiConfigOrExit();
  const app = await createApiApp(config);
  app.enableShutdownHooks();
  await app.listen(config.PORT, config.HOST);
}

main().catch((error: unknown) => {
  process.stderr.write(`api: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
