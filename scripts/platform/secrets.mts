// The local platform's own credentials: the Postgres password, the Redis password and the
// runner's internal token. Generated once per machine user, kept outside the repository in a file
// only its owner can read (`$IGNITE_LOCAL_SECRETS`, default ~/.config/ignite/local-services.json),
// and reused by every later `npm start` and `npm test`, so that nothing local listens without
// credentials and nothing secret is ever in the clone.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ProvisionError, say } from './log.mts';

export interface LocalSecrets {
  postgresPassword: string;
  redisPassword: string;
  runnerToken: string;
}

const NAMES: (keyof LocalSecrets)[] = ['postgresPassword', 'redisPassword', 'runnerToken'];

export function localSecretsPath(): string {
  return (
    process.env.IGNITE_LOCAL_SECRETS || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'ignite', 'local-services.json')
  );
}

/** The stored secrets (any that are missing are generated and stored, owner-only). */
export function localSecrets(path = localSecretsPath()): LocalSecrets {
  let stored: Partial<LocalSecrets> = {};
  if (existsSync(path)) {
    try {
      stored = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalSecrets>;
    } catch (error) {
      throw new ProvisionError(`${path} is not valid JSON (${(error as Error).message}).`, `rm ${path} (new credentials are generated)`);
    }
    if ((statSync(path).mode & 0o077) !== 0) {
      chmodSync(path, 0o600);
      say(`${path} was readable by others: made it owner-only`);
    }
  }
  const secrets = { ...stored } as LocalSecrets;
  let generated = false;
  for (const name of NAMES) {
    if (typeof secrets[name] === 'string' && /^[0-9a-f]{32,}$/.test(secrets[name])) continue;
    // Hex: safe in a URL, a shell word and a SQL literal alike.
    secrets[name] = randomBytes(24).toString('hex');
    generated = true;
  }
  if (generated) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const staged = `${path}.${process.pid}.new`;
    writeFileSync(staged, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    renameSync(staged, path);
    say(`local service credentials generated into ${path} (owner-only)`);
  }
  return secrets;
}
