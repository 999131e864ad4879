// `dodil` and `ignite` on PATH from any folder: a launcher of each in a directory on the user's
// PATH, running this clone's CLI directly on the provisioned Node 24 (one Node start; npm's
// `node_modules/.bin` shims run the host's `node` first, which re-runs itself when it is older).
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { say } from './log.mts';

const COMMANDS = ['dodil', 'ignite'] as const;
/** The line that makes a launcher ours: with the clone it runs. */
const MARK = '# ignite-cli-launcher root=';

export interface LauncherDir {
  dir: string;
  /** Whether a new shell finds commands there. */
  onPath: boolean;
}

/**
 * Where the launchers go: `IGNITE_CLI_BIN_DIR` when set; else the first of ~/.local/bin, ~/bin
 * and /usr/local/bin that is on PATH and writable; else ~/.local/bin, which the user then adds
 * to PATH.
 */
export function launcherDir(env: NodeJS.ProcessEnv, home: string, writable: (dir: string) => boolean): LauncherDir {
  const onPath = (dir: string) =>
    (env.PATH ?? '')
      .split(delimiter)
      .filter((entry) => entry !== '')
      .some((entry) => resolve(entry) === resolve(dir));
  if (env.IGNITE_CLI_BIN_DIR) return { dir: resolve(env.IGNITE_CLI_BIN_DIR), onPath: onPath(env.IGNITE_CLI_BIN_DIR) };
  const candidates = [join(home, '.local', 'bin'), join(home, 'bin'), '/usr/local/bin'];
  const found = candidates.find((dir) => onPath(dir) && writable(dir));
  return found !== undefined ? { dir: found, onPath: true } : { dir: candidates[0]!, onPath: false };
}

/** The launcher of `command` for the clone at `root`, on the Node at `node`. */
export function launcherScript(command: (typeof COMMANDS)[number], root: string, node: string): string {
  const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  return [
    '#!/bin/sh',
    `# The Ignite CLI (\`${command}\`) of a clone, on its Node 24; written by \`npm start\` there.`,
    `${MARK}${root}`,
    `exec ${quoted(node)} ${quoted(join(root, 'apps', 'cli', 'bin', `${command}.js`))} "$@"`,
    '',
  ].join('\n');
}

/** The clone an existing launcher runs, or null when the file is not one of ours. */
function launcherRoot(file: string): string | null {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(MARK));
  return line === undefined ? null : line.slice(MARK.length);
}

function isWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the launchers for the clone at `root`. `npm start` points them at its clone
 * (`takeOver`); `npm test` only writes missing ones or those of a clone that is gone, so that a
 * test run in a throwaway clone (CI's) does not take the user's commands with it. A `dodil` or
 * `ignite` that is not a launcher of ours is left alone, with a word.
 */
export function installCliLaunchers(root: string, options: { takeOver: boolean }): void {
  const place = launcherDir(process.env, homedir(), isWritable);
  try {
    mkdirSync(place.dir, { recursive: true });
  } catch (error) {
    say(
      `could not create ${place.dir} for the CLI (${(error as Error).message}); run it as ${join(root, 'node_modules', '.bin', 'dodil')}`,
    );
    return;
  }
  const written: string[] = [];
  let foreign = false;
  for (const command of COMMANDS) {
    const file = join(place.dir, command);
    if (existsSync(file)) {
      const owner = launcherRoot(file);
      if (owner === null) {
        say(`${file} is not Ignite's launcher; left as it is (the CLI is also ${join(root, 'node_modules', '.bin', command)})`);
        foreign = true;
        continue;
      }
      const gone = !existsSync(join(owner, 'apps', 'cli', 'bin', `${command}.js`));
      if (owner === root && readFileSync(file, 'utf8') === launcherScript(command, root, process.execPath)) continue;
      if (!options.takeOver && !gone) continue;
    }
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, launcherScript(command, root, process.execPath), { mode: 0o755 });
    renameSync(temporary, file);
    written.push(command);
  }
  if (written.length > 0) say(`${written.join(' and ')} in ${place.dir} now run this clone's CLI`);
  else if (options.takeOver && !foreign) say(`dodil and ignite: ${place.dir}`);
  if (!place.onPath) {
    say(`${place.dir} is not on your PATH; add this line to your shell's profile (~/.bashrc, ~/.zshrc), then open a new shell:`);
    say(`  export PATH="${place.dir}:$PATH"`);
  }
}
