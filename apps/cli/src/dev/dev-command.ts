import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type Command, Option } from 'commander';
import type { CommandContext } from '../commands/context';
import { UsageError } from '../refs';
import { DevBuilder } from './dev-build';
import { DevInstance } from './dev-instance';
import { DevServer } from './dev-server';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

/** A run of saves (an editor writing a file and its backup) is one rebuild. */
const SETTLE_MS = 150;
/** The SDK's tagged log line (sdk/ignite-rs/ignite/src/log): shown with its execution id. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the record separator is the tag
const TAGGED_LINE = /^\u001eexec (\S+) (stdout|stderr) ?(.*)$/;

interface DevOptions {
  code: string;
  port: string;
  rustTarget: string;
  envFile?: string;
  name?: string;
  timeoutMs: string;
}

function cacheHome(): string {
  return process.env.IGNITE_CACHE_HOME || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ignite');
}

/** The app's environment from `KEY=VALUE` lines (Node's own dotenv parser); a missing default file is an empty one. */
function readEnvFile(path: string, given: boolean): Record<string, string> {
  if (!existsSync(path)) {
    if (given) throw new UsageError(`the env file ${path} does not exist`);
    return {};
  }
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

export function registerDevCommand(program: Command, run: Run, example: (line: string) => string): void {
  program
    .command('dev')
    .description(
      'build the function in a folder and serve it locally with the platform’s semantics, rebuilding and swapping on every save (no API, Postgres or Redis)',
    )
    .option('--code <dir>', 'the project folder', '.')
    .option('--port <port>', 'where to serve it', '8787')
    .addOption(new Option('--rust-target <target>', 'what to build (native only, for now)').choices(['native', 'wasm']).default('native'))
    .option('--env-file <path>', "the app's environment as KEY=VALUE lines (default: .env in the folder, if any)")
    .option('--name <app>', 'the app name in the function id (default: the folder’s name)')
    .option('--timeout-ms <ms>', 'the time limit of an invocation (504 past it)', '30000')
    .addHelpText('after', example('dev --port 8787'))
    .action(function (this: Command) {
      const opts = this.opts<DevOptions>();
      return run((ctx) => dev(ctx, opts))();
    });
}

async function dev(ctx: CommandContext, opts: DevOptions): Promise<void> {
  if (opts.rustTarget !== 'native') {
    throw new UsageError('dev serves native builds only for now; deploy a wasm app to run it under Wasmtime (`--rust-target native` here)');
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${opts.port} is not a port number`);
  const timeoutMs = Number(opts.timeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms ${opts.timeoutMs} is not a positive whole number`);
  const codeDir = resolve(opts.code);
  if (!existsSync(join(codeDir, 'Cargo.toml'))) {
    throw new UsageError(
      `${codeDir} has no Cargo.toml; run dev in the function's folder, or give it with --code (\`ignite init NAME\` makes one)`,
    );
  }
  const envPath = resolve(codeDir, opts.envFile ?? '.env');
  let env = readEnvFile(envPath, opts.envFile !== undefined);
  const functionId = `${ctx.config.org}/${opts.name ?? basename(codeDir)}`;
  const say = (text: string) => process.stderr.write(`${ctx.out.colors.cyan('[dev]')} ${text}\n`);

  const builder = new DevBuilder({
    codeDir,
    workDir: join(cacheHome(), 'dev', createHash('sha256').update(codeDir).digest('hex').slice(0, 16)),
    targetDir: process.env.IGNITE_DEV_TARGET_DIR || join(cacheHome(), 'dev-target'),
    sdkPath: process.env.IGNITE_SDK_PATH || resolve(__dirname, '..', '..', '..', '..', 'sdk', 'ignite-rs', 'ignite'),
    cargo: process.env.CARGO || 'cargo',
  });
  let lastProblem = 'the first build is under way';
  const server = new DevServer({ port, functionId, timeoutMs, notReady: () => `nothing to serve yet: ${lastProblem}` });
  const listening = await server.listen().catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot serve on 127.0.0.1:${port} (${error.code ?? error.message}); pick another --port`);
  });
  say(`${functionId} on http://127.0.0.1:${listening} (POST / with a JSON body), rebuilt on every save in ${codeDir}`);

  const onLine = (line: string) => {
    const tagged = TAGGED_LINE.exec(line);
    process.stderr.write(tagged ? `${ctx.out.colors.dim(`[${tagged[1]}]`)} ${tagged[3]}\n` : `${line}\n`);
  };

  /** Starts `program` and serves it; an instance that dies on its own is started again. */
  const serve = async (program: string, release: string): Promise<DevInstance> => {
    const instance = await DevInstance.start({ program, release, functionId, env, onLine });
    void instance.exited.then(() => {
      if (server.instance !== instance || stopped) return;
      say(`the program exited (${instance.exitSignal ?? `exit code ${instance.exitCode}`}); starting it again`);
      serve(program, release).then(
        (again) => server.swap(again),
        (error: Error) => say(error.message),
      );
    });
    return instance;
  };

  let building = false;
  let pending = false;
  let stopped = false;
  const rebuild = async (why: string) => {
    if (building) {
      pending = true;
      return;
    }
    building = true;
    say(`${why}: building`);
    try {
      const build = await builder.build();
      if (!build.ok) {
        lastProblem = build.problem;
        for (const line of build.output) process.stderr.write(`${line}\n`);
        say(
          ctx.out.colors.red(
            `build failed after ${build.seconds.toFixed(1)} s: ${build.problem}; ${server.instance ? 'the previous build keeps serving' : 'nothing is served until a build succeeds'}`,
          ),
        );
        return;
      }
      const release = `dev-${build.number}`;
      const instance = await serve(build.program, release);
      const previous = server.swap(instance);
      say(
        ctx.out.colors.green(
          `built in ${build.seconds.toFixed(1)} s; serving ${release}${previous ? ` (swapped from ${previous.options.release})` : ''}`,
        ),
      );
      await previous?.stopWhenIdle();
    } catch (error) {
      lastProblem = (error as Error).message;
      say(ctx.out.colors.red(`${(error as Error).message}; ${server.instance ? 'the previous build keeps serving' : 'nothing is served'}`));
    } finally {
      building = false;
      if (pending && !stopped) {
        pending = false;
        void rebuild('changed while building');
      }
    }
  };

  let settle: NodeJS.Timeout | null = null;
  const changed = new Set<string>();
  // chokidar, not fs.watch: an editor's save (a new file renamed over the old) is seen every time.
  const { watch } = require('chokidar') as typeof import('chokidar');
  const watcher = watch(codeDir, {
    ignoreInitial: true,
    ignored: (path: string) => /^(target|\.git)(\/|$)/.test(relative(codeDir, path)),
  });
  watcher.on('all', (_event: string, path: string) => {
    changed.add(relative(codeDir, path));
    if (settle) clearTimeout(settle);
    settle = setTimeout(() => {
      settle = null;
      const files = [...changed];
      changed.clear();
      if (files.some((f) => resolve(codeDir, f) === envPath)) env = readEnvFile(envPath, opts.envFile !== undefined);
      void rebuild(`${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more` : ''} changed`);
    }, SETTLE_MS);
  });
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));

  await rebuild(`${relative(process.cwd(), codeDir) || '.'} (native, debug)`);
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      stopped = true;
      resolveStop();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  say('stopping');
  await watcher.close();
  await server.close();
  await server.swap(null)?.stopWhenIdle(2_000);
}
