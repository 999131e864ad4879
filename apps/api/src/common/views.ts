import {
  type ApiKeyCreated,
  ApiKeyCreatedSchema,
  type ApiKeyView,
  ApiKeyViewSchema,
  type AppDetailView,
  AppDetailViewSchema,
  type AppView,
  AppViewSchema,
  type BuildView,
  BuildViewSchema,
  type DraftSaved,
  DraftSavedSchema,
  type DraftView,
  DraftViewSchema,
  FunctionLogPageSchema,
  type FunctionStats,
  FunctionStatsSchema,
  type FunctionTimeline,
  FunctionTimelineSchema,
  type InvocationDetailView,
  InvocationDetailViewSchema,
  type InvocationView,
  InvocationViewSchema,
  type ReleaseView,
  ReleaseViewSchema,
} from '@ignite/contracts';
import type { ApiKeyModel, AppModel, BuildModel, DraftModel, InvocationModel, ReleaseModel } from '@ignite/database';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

/**
 * What the API answers, as zod schemas (documented in OpenAPI) and the functions that build
 * those answers from rows. Times are ISO 8601 strings.
 */

// The answer schemas live in @ignite/contracts (the CLI parses them); the DTO classes below document them in OpenAPI.
export {
  type ApiKeyCreated,
  ApiKeyCreatedSchema,
  type ApiKeyView,
  ApiKeyViewSchema,
  type AppDetailView,
  AppDetailViewSchema,
  type AppView,
  AppViewSchema,
  type BuildView,
  BuildViewSchema,
  type DraftSaved,
  DraftSavedSchema,
  type DraftView,
  DraftViewSchema,
  FunctionLogPageSchema,
  type FunctionStats,
  FunctionStatsSchema,
  type FunctionTimeline,
  FunctionTimelineSchema,
  type InvocationDetailView,
  InvocationDetailViewSchema,
  type InvocationView,
  InvocationViewSchema,
  type ReleaseView,
  ReleaseViewSchema,
};

export class AppEnvelopeDto extends createZodDto(z.object({ app: AppViewSchema })) {}
export class AppDetailEnvelopeDto extends createZodDto(z.object({ app: AppDetailViewSchema })) {}
export class AppListDto extends createZodDto(z.object({ apps: z.array(AppViewSchema) })) {}
export class DraftDto extends createZodDto(z.object({ draft: DraftViewSchema })) {}
export class DraftSavedDto extends createZodDto(DraftSavedSchema) {}
export class BuildEnvelopeDto extends createZodDto(z.object({ build: BuildViewSchema })) {}
export class BuildListDto extends createZodDto(z.object({ builds: z.array(BuildViewSchema) })) {}
export class ReleaseEnvelopeDto extends createZodDto(z.object({ release: ReleaseViewSchema })) {}
export class ReleaseListDto extends createZodDto(z.object({ releases: z.array(ReleaseViewSchema) })) {}
export class ApiKeyListDto extends createZodDto(z.object({ keys: z.array(ApiKeyViewSchema) })) {}
export class ApiKeyCreatedDto extends createZodDto(ApiKeyCreatedSchema) {}
export class InvocationListDto extends createZodDto(z.object({ invocations: z.array(InvocationViewSchema) })) {}
export class InvocationDetailEnvelopeDto extends createZodDto(z.object({ invocation: InvocationDetailViewSchema })) {}
export class FunctionStatsDto extends createZodDto(z.object({ stats: FunctionStatsSchema })) {}
export class FunctionTimelineDto extends createZodDto(z.object({ timeline: FunctionTimelineSchema })) {}
export class WhoAmIDto extends createZodDto(
  z.object({ org: z.string().describe("The org slug of the caller's key"), key: ApiKeyViewSchema.describe('The calling key') }),
) {}

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

export function draftView(draft: DraftModel): DraftView {
  return {
    revision: draft.revision,
    sha256: draft.sourceSha256,
    size: draft.size,
    format: draft.format as DraftView['format'],
    createdAt: iso(draft.createdAt),
    updatedAt: iso(draft.updatedAt),
  };
}

export function buildView(build: BuildModel): BuildView {
  return {
    id: build.id,
    appId: build.appId,
    status: build.status,
    target: build.target,
    draftRevision: build.draftRevision,
    sourceSha256: build.sourceSha256,
    executor: build.executor,
    attempts: build.attempts,
    queuedAt: iso(build.queuedAt),
    startedAt: isoOrNull(build.startedAt),
    finishedAt: isoOrNull(build.finishedAt),
    cancelRequestedAt: isoOrNull(build.cancelRequestedAt),
    queueWaitMs: build.queueWaitMs,
    unpackMs: build.unpackMs,
    buildMs: build.buildMs,
    verifyMs: build.verifyMs,
    errorSummary: build.errorSummary,
    diagnostics: build.diagnostics ?? null,
    artifactSha256: build.artifactSha256,
    artifactSize: build.artifactSize,
    toolchain: build.toolchain,
    targetTriple: build.targetTriple,
    logLines: build.logLines,
  };
}

export function releaseView(release: ReleaseModel, activeReleaseId: string | null): ReleaseView {
  return {
    id: release.id,
    number: release.number,
    buildId: release.buildId,
    target: release.target,
    artifactSha256: release.artifactSha256,
    artifactSize: release.artifactSize,
    createdAt: iso(release.createdAt),
    active: release.id === activeReleaseId,
  };
}

/** What an app view says of its releases besides the app's own row. */
export interface AppReleases {
  activeReleaseNumber: number | null;
  lastReleasedAt: Date | null;
}

export function appView(app: AppModel, org: string, releases: AppReleases): AppView {
  return {
    id: app.id,
    org,
    name: app.name,
    runtime: app.runtime,
    rustTarget: app.rustTarget,
    env: envOf(app),
    timeoutMs: app.timeoutMs,
    memoryMb: app.memoryMb,
    auth: app.invokeAuth,
    rateLimitPerSecond: app.rateLimitPerSecond,
    concurrencyLimit: app.concurrencyLimit,
    activeReleaseNumber: releases.activeReleaseNumber,
    lastReleasedAt: isoOrNull(releases.lastReleasedAt),
    createdAt: iso(app.createdAt),
    updatedAt: iso(app.updatedAt),
  };
}

export function invocationView(invocation: InvocationModel, releaseNumber: number | null): InvocationView {
  return {
    executionId: invocation.executionId,
    releaseNumber,
    statusCode: invocation.statusCode,
    durationMs: invocation.durationMs,
    cold: invocation.cold,
    error: invocation.error,
    createdAt: iso(invocation.createdAt),
  };
}

/** The app's env column as a string map (it is written only by this API, always as one). */
export function envOf(app: Pick<AppModel, 'env'>): Record<string, string> {
  const env = app.env;
  if (!env || typeof env !== 'object' || Array.isArray(env)) return {};
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export function apiKeyView(key: ApiKeyModel): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    createdAt: iso(key.createdAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
    revokedAt: isoOrNull(key.revokedAt),
  };
}
