import { ErrorCode } from '@ignite/contracts';
import type { BuildModel, ReleaseModel } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { appNotFound, DomainError } from '../common/domain-error';
import { isUniqueViolation } from '../common/prisma-errors';
import { isUuid } from '../common/uuid';
import { type ReleaseView, releaseView } from '../common/views';
import { ReleaseNotifier } from '../infra/release-notifier';
import { type LockedApp, ReleasesRepository } from './releases.repository';

const conflict = (message: string, details: Record<string, unknown> = {}) => new DomainError(ErrorCode.conflict, message, details);

/** Releases: immutable, numbered per app; publishing and activating both announce the new active release. */
@Injectable()
export class ReleasesService {
  constructor(
    private readonly apps: AppsService,
    private readonly releases: ReleasesRepository,
    private readonly notifier: ReleaseNotifier,
    @InjectPinoLogger(ReleasesService.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * Publishes a succeeded build of the current draft revision (by default the latest build of
   * it) as the next release and makes it active, in one transaction under the app's lock.
   */
  async publish(caller: AuthContext, appName: string, buildId: string | undefined): Promise<ReleaseView> {
    const app = await this.apps.require(caller, appName);
    let release: ReleaseModel | undefined;
    try {
      release = await this.releases.withLockedApp(app.id, async (locked) => {
        const build = await this.publishable(locked, appName, buildId);
        return locked.createActiveRelease(build);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`another release of app "${appName}" was published at the same moment; try again`);
      throw error;
    }
    if (!release) throw appNotFound(caller.org, appName);
    this.logger.info({ appId: app.id, releaseId: release.id, number: release.number, buildId: release.buildId }, 'release published');
    await this.notify(caller, app.id, app.name, release);
    return releaseView(release, release.id);
  }

  async list(caller: AuthContext, appName: string): Promise<ReleaseView[]> {
    const app = await this.apps.require(caller, appName);
    return (await this.releases.list(app.id)).map((release) => releaseView(release, app.activeReleaseId));
  }

  /** Makes an existing release the active one (rollback or forward) and announces it. */
  async activate(caller: AuthContext, appName: string, number: string): Promise<ReleaseView> {
    const app = await this.apps.require(caller, appName);
    const parsed = /^[1-9][0-9]{0,8}$/.test(number) ? Number(number) : undefined;
    const release = parsed === undefined ? null : await this.releases.activate(app.id, parsed);
    if (!release) throw new DomainError(ErrorCode.notFound, `release ${number} not found for app "${appName}"`);
    this.logger.info({ appId: app.id, releaseId: release.id, number: release.number }, 'release activated');
    await this.notify(caller, app.id, app.name, release);
    return releaseView(release, release.id);
  }

  /** The build to publish, or the 409 that says why there is none. */
  private async publishable(
    locked: LockedApp,
    appName: string,
    buildId: string | undefined,
  ): Promise<BuildModel & { artifactSha256: string; artifactSize: number }> {
    const draft = await locked.draft();
    if (!draft) throw conflict(`app "${appName}" has no draft: save one, compile it, then publish`);
    let build: BuildModel | null;
    if (buildId !== undefined) {
      build = isUuid(buildId) ? await locked.build(buildId) : null;
      if (!build) throw new DomainError(ErrorCode.notFound, `build ${buildId} not found for app "${appName}"`);
    } else {
      build = await locked.latestBuildOf(draft.revision);
      if (!build) {
        const latest = await locked.latestBuild();
        if (latest && latest.draftRevision < draft.revision) {
          throw conflict(
            `the latest build was made from draft revision ${latest.draftRevision}, but the draft is now at revision ${draft.revision}: compile it again, then publish`,
            { draftRevision: draft.revision, buildRevision: latest.draftRevision },
          );
        }
        throw conflict(`draft revision ${draft.revision} was never compiled: compile it, then publish`, { draftRevision: draft.revision });
      }
    }
    if (build.draftRevision !== draft.revision) {
      throw conflict(
        `build ${build.id} was made from draft revision ${build.draftRevision}, but the draft is now at revision ${draft.revision}: compile it again, then publish`,
        { draftRevision: draft.revision, buildRevision: build.draftRevision, buildId: build.id },
      );
    }
    switch (build.status) {
      case 'queued':
      case 'running':
        throw conflict(`build ${build.id} is still ${build.status}: wait for it to succeed, then publish`, {
          buildId: build.id,
          status: build.status,
        });
      case 'failed':
      case 'canceled':
        throw conflict(
          `build ${build.id} ${build.status}${build.errorSummary ? `: ${build.errorSummary}` : ''}; fix the draft and compile again`,
          {
            buildId: build.id,
            status: build.status,
          },
        );
      case 'succeeded':
        break;
    }
    if (build.artifactSha256 === null || build.artifactSize === null) {
      throw conflict(`build ${build.id} succeeded but recorded no artifact; compile again`, { buildId: build.id });
    }
    return { ...build, artifactSha256: build.artifactSha256, artifactSize: build.artifactSize };
  }

  private async notify(caller: AuthContext, appId: string, appName: string, release: ReleaseModel): Promise<void> {
    await this.notifier.releaseActivated({ appId, functionId: `${caller.org}/${appName}`, releaseId: release.id, number: release.number });
  }
}
