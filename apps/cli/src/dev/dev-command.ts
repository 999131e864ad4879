import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type Command, Option } from 'commander';
import type { CommandContext } from '../commands/context';
import { UsageError } from '../refs';
import { DevBuilder } from './dev-build';
import { DevInstance, type DevLaunch } from './dev-instance';
import { DevServer } from './dev-server';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

/** A run of saves (an editor writing a file and its backup) is one rebuild. */
const SETTLE_MS = 150;
/** The SDK's tagged log line (sdk/ignite-rs/ignite/src/log), or the wasm host's line of an execution: shown with its execution id. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the record separator is the tag
const TAGGED_LINE = /^\u001e?(?:exec (\S+) (?:stdout|stderr)|host ([^\s-]\S*)) ?(.*)$/;

interface DevOptions {
  code: string;
  port: string;
  rustTarget: string;
  envFile?: string;
  name?: string;
  timeoutMs: string;
}

/** Cargo for the target: the user's for native, the platform's wasm32-wasip2 toolchain for wasm (as the compile worker resolves it). */
function devToolchain(target: 'native' | 'wasm'): { cargo: string; env: Record<string, string> } {
  if (target === 'native') return { cargo: process.env.CARGO || 'cargo', env: {} };
  const { resolveRustToolchain, resolveWasmToolchain, ToolchainError } =
    require('@ignite/rust-toolchains') as typeof import('@ignite/rust-toolchains');
  try {
    const wasm = resolveWasmToolchain({ mode: 'auto', native: resolveRustToolchain(), cacheHome: cacheHome() });
    return { cargo: wasm.cargo, env: { ...wasm.env, PATH: [...wasm.path, process.env.PATH ?? '/usr/bin:/bin'].join(':') } };
  } catch (error) {
    if (error instanceof ToolchainError) throw new UsageError(error.message);
    throw error;
  }
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
    .addOption(
      new Option('--rust-target <target>', 'what to build: native, or wasm (served by the wasm host, Wasmtime)')
        .choices(['native', 'wasm'])
        .default('native'),
    )
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
  const target = opts.rustTarget === 'wasm' ? 'wasm' : 'native';
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

  const repo = resolve(__dirname, '..', '..', '..', '..');
  const toolchain = devToolchain(target);
  const wasmHost = process.env.IGNITE_WASM_HOST || join(repo, 'apps', 'runner', 'dist', 'ignite-wasm-host');
  if (target === 'wasm' && !existsSync(wasmHost)) {
    throw new UsageError(
      `the wasm host ${wasmHost} is not built; run \`npm start\` once in ${repo} (it builds it), or set IGNITE_WASM_HOST`,
    );
  }
  const workDir = join(
    process.env.IGNITE_DEV_HOME || join(cacheHome(), 'dev'),
    createHash('sha256').update(codeDir).digest('hex').slice(0, 16),
  );
  const builder = new DevBuilder({
    codeDir,
    workDir,
    // One per target: the wasm toolchain's rustc is not the native one, and each would rebuild the other's.
    targetDir: process.env.IGNITE_DEV_TARGET_DIR
      ? `${process.env.IGNITE_DEV_TARGET_DIR}${target === 'wasm' ? '-wasm' : ''}`
      : join(cacheHome(), `dev-target${target === 'wasm' ? '-wasm' : ''}`),
    sdkPath: process.env.IGNITE_SDK_PATH || join(repo, 'sdk', 'ignite-rs', 'ignite'),
    target,
    ...toolchain,
    wasmHost,
  });
  const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...env });
  /** How a build starts: the program itself, or the wasm host serving the component (its own 504 at the time limit). */
  const launchOf = (artifact: string, release: string): DevLaunch =>
    target === 'native'
      ? {
          command: artifact,
          args: [],
          env: (port) => ({
            ...baseEnv(),
            PORT: String(port),
            IGNITE_PROBE_PORT: '0',
            IGNITE_HOST: '127.0.0.1',
            IGNITE_READY_FD: '3',
            IGNITE_FUNCTION_ID: functionId,
          }),
        }
      : {
          command: wasmHost,
          args: ['serve'],
          env: (port) => ({
            ...baseEnv(),
            IGNITE_HOST_LISTEN_ADDR: `127.0.0.1:${port}`,
            IGNITE_COMPONENT: artifact,
            IGNITE_READY_FD: '3',
            IGNITE_FUNCTION_ID: functionId,
            IGNITE_RELEASE: release,
            IGNITE_TIME_LIMIT_MS: String(timeoutMs),
            IGNITE_MEMORY_LIMIT_MB: '128',
            IGNITE_TEMP_DIR: join(workDir, 'tmp'),
            IGNITE_HOST_MAX_INSTANCES: '64',
          }),
        };
  let lastProblem = 'the first build is under way';
  // The wasm host keeps its own time limit (a 504, serving on); the dev server's is the backstop.
  const server = new DevServer({
    port,
    functionId,
    timeoutMs: target === 'wasm' ? timeoutMs + 1_000 : timeoutMs,
    onTimeout: (instance) => onTimeout(instance),
    notReady: () => `nothing to serve yet: ${lastProblem}`,
  });
  const listening = await server.listen().catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot serve on 127.0.0.1:${port} (${error.code ?? error.message}); pick another --port`);
  });
  say(`${functionId} on http://127.0.0.1:${listening} (POST / with a JSON body), rebuilt on every save in ${codeDir}`);

  const onLine = (line: string) => {
    const tagged = TAGGED_LINE.exec(line);
    process.stderr.write(tagged ? `${ctx.out.colors.dim(`[${tagged[1] ?? tagged[2]}]`)} ${tagged[3]}\n` : `${line}\n`);
  };

  const artifacts = new WeakMap<DevInstance, string>();
  /** Starts a build; an instance that dies on its own is started again, requests waiting for it. */
  const serve = async (artifact: string, release: string): Promise<DevInstance> => {
    const instance = await DevInstance.start({ launch: launchOf(artifact, release), release, onLine });
    void instance.exited.then(() => {
      if (server.instance !== instance || instance.stopping || stopped) return;
      say(`the program exited (${instance.exitSignal ?? `exit code ${instance.exitCode}`}); starting it again`);
      server.replace(
        () => serve(artifact, release),
        (error) => say(error.message),
      );
    });
    artifacts.set(instance, artifact);
    return instance;
  };
  /** As the runner does with a native instance past its time limit: it goes, a fresh one serves the next requests. */
  const onTimeout = (instance: DevInstance) => {
    if (target !== 'native' || server.instance !== instance) return;
    say(`an invocation ran past the time limit of ${timeoutMs} ms: a fresh instance of ${instance.options.release} serves the next`);
    const artifact = artifacts.get(instance)!;
    server.replace(
      async () => {
        const fresh = await serve(artifact, instance.options.release);
        instance.kill();
        return fresh;
      },
      (error) => say(error.message),
    );
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
      const instance = await serve(build.artifact, release);
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

  await rebuild(`${relative(process.cwd(), codeDir) || '.'} (${target}, debug)`);
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
