import type { Readable } from 'node:stream';
import { type BuildEvent, channels, ErrorCode } from '@ignite/contracts';
import type { BuildModel } from '@ignite/database';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { appNotFound, DomainError } from '../common/domain-error';
import { isUuid } from '../common/uuid';
import { type BuildView, buildView } from '../common/views';
import type { ApiConfig } from '../config';
import { MetricsService } from '../infra/metrics.service';
import { RedisService } from '../infra/redis.service';
import { API_CONFIG } from '../infra/tokens';
import { Limit, overLimit } from '../limits/limits';
import { BuildLogsService } from './build-logs.service';
import { BuildQueue } from './build-queue.service';
import { BuildsRepository } from './builds.repository';

/** Pub/sub channel on which the API asks workers to stop a running build: `{ buildId }`. */
export const buildCancelChannel = (prefix: string) => `${prefix}:build-cancel`;

/** A queued build older than this with no job on the queue is enqueued again at start. */
const RECONCILE_AFTER_MS = 60_000;

export interface CancelOutcome {
  build: BuildView;
  /** `canceled`: done (it was queued). `requested`: the worker running it has been told to stop. */
  outcome: 'canceled' | 'requested';
}

/** Builds: compile the draft (one build per draft revision and target at a time), read, follow, cancel. */
@Injectable()
export class BuildsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private reconciling: Promise<void> | undefined;
  private stopping = false;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly apps: AppsService,
    private readonly builds: BuildsRepository,
    private readonly queue: BuildQueue,
    private readonly logs: BuildLogsService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(BuildsService.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * Compiles the current draft. A build of the same revision and target that is queued or
   * running is returned instead of a second one. The job is enqueued after the row commits; if
   * that fails, the build fails with the reason and the answer is a 503 carrying that build.
   */
  async compile(caller: AuthContext, appName: string): Promise<{ build: BuildView; created: boolean }> {
    const app = await this.apps.require(caller, appName);
    const maxInFlight = this.config.ORG_MAX_BUILDS_IN_FLIGHT;
    const outcome = await this.builds.createOrReuse(caller.orgId, app.id, app.rustTarget, maxInFlight);
    switch (outcome.kind) {
      case 'over-quota':
        throw overLimit(
          Limit.buildsInFlight,
          maxInFlight,
          `org "${caller.org}" has ${outcome.inFlight} builds queued or running, the most it may have at once: wait for one to finish, or cancel one`,
        );
      case 'app-gone':
        throw appNotFound(caller.org, appName);
      case 'no-draft':
        throw new DomainError(
          ErrorCode.conflict,
          `app "${appName}" has no draft to compile: save one first (PUT .../apps/${appName}/draft)`,
        );
      case 'existing':
        return { build: buildView(outcome.build), created: false };
      case 'created': {
        const build = await this.enqueue(outcome.build, outcome.inFlight);
        if (build.status === 'failed') {
          throw new DomainError(ErrorCode.unavailable, `${build.errorSummary ?? 'could not enqueue the build'}; try again`, {
            build: buildView(build),
          });
        }
        return { build: buildView(build), created: true };
      }
    }
  }

  async list(caller: AuthContext, appName: string, limit: number): Promise<BuildView[]> {
    const app = await this.apps.require(caller, appName);
    return (await this.builds.list(app.id, limit)).map(buildView);
  }

  async get(caller: AuthContext, appName: string, buildId: string): Promise<BuildView> {
    return buildView(await this.require(caller, appName, buildId));
  }

  async openLogs(caller: AuthContext, appName: string, buildId: string, follow: boolean): Promise<Readable> {
    const build = await this.require(caller, appName, buildId);
    return this.logs.open(build.id, follow);
  }

  /**
   * queued → canceled at once (its job removed); running → the worker is told to stop it and
   * marks it canceled; finished → 409.
   */
  async cancel(caller: AuthContext, appName: string, buildId: string): Promise<CancelOutcome> {
    const build = await this.require(caller, appName, buildId);
    const prefix = this.config.IGNITE_QUEUE_PREFIX;
    if (build.status === 'queued' && (await this.builds.cancelQueued(build.id))) {
      let removed = false;
      try {
        removed = await this.queue.remove(build.id);
      } catch (error) {
        this.logger.warn({ buildId: build.id, err: error }, 'build job not removed');
      }
      // A worker already holding the job sees the canceled row; telling it as well costs nothing.
      if (!removed) await this.publishQuietly(buildCancelChannel(prefix), { buildId: build.id });
      await this.publishQuietly(channels.buildEvents(prefix, build.id), { type: 'status', status: 'canceled' } satisfies BuildEvent);
      this.logger.info({ buildId: build.id, jobRemoved: removed }, 'queued build canceled');
      return { build: buildView(await this.require(caller, appName, buildId)), outcome: 'canceled' };
    }
    if (await this.builds.requestCancel(build.id)) {
      await this.redis.publish(buildCancelChannel(prefix), { buildId: build.id });
      this.logger.info({ buildId: build.id }, 'build cancel requested');
      return { build: buildView(await this.require(caller, appName, buildId)), outcome: 'requested' };
    }
    const current = await this.require(caller, appName, buildId);
    throw new DomainError(ErrorCode.conflict, `build ${current.id} has already finished (${current.status}); there is nothing to cancel`, {
      status: current.status,
    });
  }

  /**
   * After a crash between commit and enqueue, queued builds may have no job: give them one. So
   * may every queued build after Redis came back (restarted without its data, a failover): once
   * its connection is ready again, the queued builds of any age without a job get one (adding a
   * job is idempotent: its id is the build's).
   */
  onApplicationBootstrap(): void {
    this.reconcileLater(RECONCILE_AFTER_MS);
    let connectedBefore = this.redis.client.status === 'ready';
    this.redis.client.on('ready', () => {
      if (connectedBefore) this.reconcileLater(0);
      connectedBefore = true;
    });
  }

  private reconcileLater(olderThanMs: number): void {
    if (this.stopping) return;
    const previous = this.reconciling ?? Promise.resolve();
    this.reconciling = previous
      .then(() => this.reconcile(olderThanMs))
      .catch((error: unknown) =>
        this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'queued builds not reconciled'),
      );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // Bounded: with Redis down, a queue call of the reconciliation would wait for it forever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.reconciling, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }

  private async reconcile(olderThanMs: number): Promise<void> {
    const stale = await this.builds.queuedBefore(new Date(Date.now() - olderThanMs), 500);
    let enqueued = 0;
    for (const { id } of stale) {
      if (this.stopping) break;
      if (await this.queue.has(id)) continue;
      await this.queue.enqueue(id);
      enqueued += 1;
    }
    if (enqueued > 0) this.logger.info({ enqueued }, 'queued builds without a job enqueued again');
  }

  /** `inFlight`: the org's builds queued or running with this one, its place in the fair queue. */
  private async enqueue(build: BuildModel, inFlight: number): Promise<BuildModel> {
    try {
      await this.queue.enqueue(build.id, inFlight);
      this.metrics.buildsEnqueued.inc();
      this.logger.info(
        { buildId: build.id, appId: build.appId, draftRevision: build.draftRevision, target: build.target },
        'build enqueued',
      );
      return build;
    } catch (error) {
      const reason = `could not enqueue the build: ${error instanceof Error ? error.message : String(error)}`;
      this.logger.error({ buildId: build.id, err: error }, 'build not enqueued');
      return (await this.builds.failQueued(build.id, reason)) ?? build;
    }
  }

  /** A build named by its id alone (`dodil ignite builds logs BUILD_ID`), within the caller's org. */
  async getInOrg(caller: AuthContext, buildId: string): Promise<BuildView> {
    return buildView(await this.requireInOrg(caller, buildId));
  }

  async openLogsInOrg(caller: AuthContext, buildId: string, follow: boolean): Promise<Readable> {
    return this.logs.open((await this.requireInOrg(caller, buildId)).id, follow);
  }

  private async requireInOrg(caller: AuthContext, buildId: string): Promise<BuildModel> {
    const build = isUuid(buildId) ? await this.builds.findInOrg(caller.orgId, buildId) : null;
    if (!build) throw new DomainError(ErrorCode.notFound, `build ${buildId} not found`);
    return build;
  }

  private async require(caller: AuthContext, appName: string, buildId: string): Promise<BuildModel> {
    const app = await this.apps.require(caller, appName);
    const build = isUuid(buildId) ? await this.builds.find(app.id, buildId) : null;
    if (!build) throw new DomainError(ErrorCode.notFound, `build ${buildId} not found for app "${appName}"`);
    return build;
  }

  private async publishQuietly(channel: string, message: unknown): Promise<void> {
    try {
      await this.redis.publish(channel, message);
    } catch (error) {
      this.logger.warn({ channel, err: error }, 'publish failed');
    }
  }
}
