import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { z } from 'zod';
import { type ApiConfig, expandHome } from '../config';
import { API_CONFIG } from '../infra/tokens';
import { ApiKeysService } from './api-keys.service';

/** The CLI's configuration file, as the CLI reads it. */
const CliConfigSchema = z.object({ url: z.string(), org: z.string(), key: z.string(), invokeUrl: z.string().optional() });
export type CliConfig = z.infer<typeof CliConfigSchema>;

export const LOCAL_KEY_NAME = 'local';

/**
 * One machine, zero setup: on start, makes sure the default org exists and that the CLI's
 * configuration file holds a working key for it (creating a key named `local` when it does not).
 * The key is written to the file (0600, in a 0700 folder) and never logged.
 */
@Injectable()
export class LocalBootstrapService implements OnApplicationBootstrap {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly keys: ApiKeysService,
    @InjectPinoLogger(LocalBootstrapService.name) private readonly logger: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.IGNITE_BOOTSTRAP_LOCAL) return;
    const path = expandHome(this.config.IGNITE_CLI_CONFIG);
    const slug = this.config.IGNITE_DEFAULT_ORG;
    const org = await this.keys.ensureOrg(slug);
    const url = this.localUrl();
    // Where `ignite invoke` calls: the data plane (the runner's direct port), not this API.
    const invokeUrl = this.config.RUNNER_DIRECT_URL.replace(/\/+$/, '');
    const existing = await this.readCliConfig(path);
    if (existing) {
      const owner = await this.keys.verify(existing.key);
      if (owner && owner.orgSlug === slug) {
        if (existing.url !== url || existing.org !== slug || existing.invokeUrl !== invokeUrl) {
          await writeCliConfig(path, { url, org: slug, key: existing.key, invokeUrl });
          this.logger.info({ path, org: slug, url, invokeUrl }, 'cli config updated');
        } else {
          this.logger.info({ path, org: slug }, 'cli config has a working key');
        }
        return;
      }
    }
    const { secret } = await this.keys.issue(org.id, LOCAL_KEY_NAME);
    await writeCliConfig(path, { url, org: slug, key: secret, invokeUrl });
    this.logger.info({ path, org: slug, keyName: LOCAL_KEY_NAME, invokeUrl }, 'cli config written with a new key');
  }

  /** The URL the CLI on this machine uses: the configured host, or loopback when listening on every interface. */
  private localUrl(): string {
    const host = this.config.HOST;
    const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]';
    const name = wildcard ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return `http://${name}:${this.config.PORT}`;
  }

  private async readCliConfig(path: string): Promise<CliConfig | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed = CliConfigSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // Not JSON: replaced below.
    }
    this.logger.warn({ path }, 'cli config unreadable; writing a new one');
    return undefined;
  }
}

/** Writes the file atomically, 0600 from the first byte, so the key is never readable by others. */
export async function writeCliConfig(path: string, config: CliConfig): Promise<void> {
  const dir = dirname(path);
  // A folder made here is 0700; an existing one (say, a shared parent) keeps its mode.
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
