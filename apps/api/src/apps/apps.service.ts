import { ErrorCode } from '@ignite/contracts';
import { Inject, Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { BlobCollector } from '../blobs/blob-collector.service';
import { appNotFound, DomainError } from '../common/domain-error';
import { isUniqueViolation } from '../common/prisma-errors';
import { type AppDetailView, type AppReleases, type AppView, appView, buildView, draftView, envOf, releaseView } from '../common/views';
import { type ApiConfig, NAME_PATTERN } from '../config';
import { ReleaseNotifier } from '../infra/release-notifier';
import { API_CONFIG } from '../infra/tokens';
import { Limit, overLimit } from '../limits/limits';
import type { CreateAppDto, PatchEnvDto, UpdateAppDto } from './apps.dto';
import { type AppForView, AppsRepository, type AppWithActive } from './apps.repository';

/** Apps: create, read, change their environment, delete (with what they stored). */
@Injectable()
export class AppsService {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly apps: AppsRepository,
    private readonly blobs: BlobCollector,
    private readonly notifier: ReleaseNotifier,
  ) {}

  async create(caller: AuthContext, input: CreateAppDto): Promise<AppView> {
    this.checkMaxima(input);
    try {
      const outcome = await this.apps.create(
        {
          orgId: caller.orgId,
          name: input.name,
          rustTarget: input.rustTarget,
          env: input.env,
          timeoutMs: input.timeoutMs,
          memoryMb: input.memoryMb,
          auth: input.auth,
          rateLimitPerSecond: input.rateLimitPerSecond,
          concurrencyLimit: input.concurrencyLimit,
        },
        this.config.ORG_MAX_APPS,
      );
      if ('full' in outcome) {
        throw overLimit(
          Limit.apps,
          this.config.ORG_MAX_APPS,
          `org "${caller.org}" has ${outcome.full} apps, the most it may have: delete one it no longer needs (DELETE .../apps/{app})`,
        );
      }
      return appView(outcome.created, caller.org, { activeReleaseNumber: null, lastReleasedAt: null });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError(ErrorCode.conflict, `app "${input.name}" already exists in org "${caller.org}"`);
      throw error;
    }
  }

  /** An app's memory and time limits within the operator's maxima. */
  private checkMaxima(input: CreateAppDto): void {
    const { APP_MAX_MEMORY_MB: maxMemory, APP_MAX_TIMEOUT_MS: maxTimeout } = this.config;
    if (input.memoryMb !== undefined && input.memoryMb > maxMemory) {
      throw overLimit(
        Limit.appMemory,
        maxMemory,
        `memoryMb ${input.memoryMb} is over this platform's maximum of ${maxMemory} MiB: ask for at most ${maxMemory}`,
      );
    }
    if (input.timeoutMs !== undefined && input.timeoutMs > maxTimeout) {
      throw overLimit(
        Limit.appTimeout,
        maxTimeout,
        `timeoutMs ${input.timeoutMs} is over this platform's maximum of ${maxTimeout} ms: ask for at most ${maxTimeout}`,
      );
    }
  }

  async list(caller: AuthContext): Promise<AppView[]> {
    const apps = await this.apps.list(caller.orgId);
    return apps.map((app) => appView(app, caller.org, releasesOf(app)));
  }

  async get(caller: AuthContext, name: string): Promise<AppDetailView> {
    const app = NAME_PATTERN.test(name) ? await this.apps.findDetail(caller.orgId, name) : null;
    if (!app) throw appNotFound(caller.org, name);
    return {
      ...appView(app, caller.org, releasesOf(app)),
      draft: app.draft ? draftView(app.draft) : null,
      latestBuild: app.latestBuild ? buildView(app.latestBuild) : null,
      activeRelease: app.activeRelease ? releaseView(app.activeRelease, app.activeReleaseId) : null,
    };
  }

  /** The app named in the path, in the caller's org, or the not-found answer every route gives. */
  async require(caller: AuthContext, name: string): Promise<AppWithActive> {
    const app = NAME_PATTERN.test(name) ? await this.apps.findByName(caller.orgId, name) : null;
    if (!app) throw appNotFound(caller.org, name);
    return app;
  }

  /**
   * Sets and unsets variables. When a release is active, runners are told (as for an activation)
   * so that new instances start with the new environment.
   */
  async patchEnv(caller: AuthContext, name: string, patch: PatchEnvDto): Promise<AppView> {
    const app = await this.require(caller, name);
    const updated = await this.apps.updateEnv(app.id, (current) => {
      const env = envOf({ env: current });
      for (const key of patch.unset ?? []) delete env[key];
      Object.assign(env, patch.set ?? {});
      if (Object.keys(env).length > 200) throw new DomainError(ErrorCode.validation, 'an app has at most 200 env variables');
      return env;
    });
    if (!updated) throw appNotFound(caller.org, name);
    await this.announce(caller, updated);
    return appView(updated, caller.org, releasesOf(updated));
  }

  /**
   * Changes who may invoke the app (`auth`) and its limits. Runners are told (as for an
   * activation) so that the data plane applies it at once; connections already handed to a
   * program keep their terms until the runner checks them again (its key cache's TTL).
   */
  async update(caller: AuthContext, name: string, change: UpdateAppDto): Promise<AppView> {
    const app = await this.require(caller, name);
    const updated = await this.apps.updateAccess(app.id, change);
    if (!updated) throw appNotFound(caller.org, name);
    await this.announce(caller, updated);
    return appView(updated, caller.org, releasesOf(updated));
  }

  /** Runners drop what they cached of the app (an app with nothing published has nothing cached that matters). */
  private async announce(caller: AuthContext, app: AppWithActive): Promise<void> {
    if (!app.activeRelease) return;
    await this.notifier.releaseActivated({
      appId: app.id,
      functionId: `${caller.org}/${app.name}`,
      releaseId: app.activeRelease.id,
      number: app.activeRelease.number,
    });
  }

  /** Deletes the app with everything it owns, then the blobs no other app still references. */
  async delete(caller: AuthContext, name: string): Promise<void> {
    const app = await this.require(caller, name);
    const shas = await this.apps.delete(app.id);
    if (shas === undefined) throw appNotFound(caller.org, name);
    await this.blobs.collect(shas);
  }
}

function releasesOf(app: AppForView): AppReleases {
  return { activeReleaseNumber: app.activeRelease?.number ?? null, lastReleasedAt: app.lastReleasedAt };
}
