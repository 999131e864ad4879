import { spawn, spawnSync } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and captures its output. */
export function capture(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
  const result = spawnSync(command, args, { encoding: 'utf8', env: options.env ?? process.env, cwd: options.cwd });
  return {
    code: result.status ?? (result.error ? 127 : 1),
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? (result.error ? String(result.error.message) : ''),
  };
}

/** Runs a command with the terminal attached; resolves with its exit code. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: options.env ?? process.env, cwd: options.cwd });
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function commandExists(command: string): boolean {
  return capture('sh', ['-c', `command -v ${command}`]).code === 0;
}

let aptUpdated = false;

/** Installs Debian packages (we run as root on these machines). */
export async function aptInstall(packages: string[]): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    if ((await run('apt-get', ['update', '-qq'], { env })) !== 0) return false;
    aptUpdated = true;
  }
  return (await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env })) === 0;
}
