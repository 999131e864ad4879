-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Runtime" AS ENUM ('rust');

-- CreateEnum
CREATE TYPE "RustTarget" AS ENUM ('native', 'wasm');

-- CreateEnum
CREATE TYPE "BuildStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'canceled');

-- CreateEnum
CREATE TYPE "BlobKind" AS ENUM ('source', 'artifact');

-- CreateTable
CREATE TABLE "orgs" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "orgs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "apps" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "runtime" "Runtime" NOT NULL DEFAULT 'rust',
    "rustTarget" "RustTarget" NOT NULL DEFAULT 'native',
    "env" JSONB NOT NULL DEFAULT '{}',
    "timeoutMs" INTEGER,
    "memoryMb" INTEGER,
    "activeReleaseId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "apps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "drafts" (
    "id" UUID NOT NULL,
    "appId" UUID NOT NULL,
    "revision" INTEGER NOT NULL,
    "sourceSha256" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "format" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "drafts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "builds" (
    "id" UUID NOT NULL,
    "appId" UUID NOT NULL,
    "draftRevision" INTEGER NOT NULL,
    "sourceSha256" TEXT NOT NULL,
    "target" "RustTarget" NOT NULL,
    "status" "BuildStatus" NOT NULL DEFAULT 'queued',
    "executor" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "queuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "queueWaitMs" INTEGER,
    "unpackMs" INTEGER,
    "buildMs" INTEGER,
    "verifyMs" INTEGER,
    "cancelRequestedAt" TIMESTAMP(3),
    "errorSummary" TEXT,
    "diagnostics" JSONB,
    "artifactSha256" TEXT,
    "artifactSize" INTEGER,
    "toolchain" TEXT,
    "targetTriple" TEXT,
    "logLines" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "builds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "build_log_lines" (
    "buildId" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "stream" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "build_log_lines_pkey" PRIMARY KEY ("buildId","seq")
);

-- CreateTable
CREATE TABLE "releases" (
    "id" UUID NOT NULL,
    "appId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "buildId" UUID NOT NULL,
    "target" "RustTarget" NOT NULL,
    "artifactSha256" TEXT NOT NULL,
    "artifactSize" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "releases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invocations" (
    "executionId" TEXT NOT NULL,
    "appId" UUID NOT NULL,
    "releaseId" UUID,
    "statusCode" INTEGER NOT NULL,
    "durationMs" DOUBLE PRECISION NOT NULL,
    "cold" BOOLEAN NOT NULL,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invocations_pkey" PRIMARY KEY ("executionId")
);

-- CreateTable
CREATE TABLE "blobs" (
    "sha256" TEXT NOT NULL,
    "kind" "BlobKind" NOT NULL,
    "size" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blobs_pkey" PRIMARY KEY ("sha256")
);

-- CreateIndex
CREATE UNIQUE INDEX "orgs_slug_key" ON "orgs"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "api_keys_orgId_idx" ON "api_keys"("orgId");

-- CreateIndex
CREATE UNIQUE INDEX "apps_activeReleaseId_key" ON "apps"("activeReleaseId");

-- CreateIndex
CREATE UNIQUE INDEX "apps_orgId_name_key" ON "apps"("orgId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "drafts_appId_key" ON "drafts"("appId");

-- CreateIndex
CREATE INDEX "builds_appId_draftRevision_target_status_idx" ON "builds"("appId", "draftRevision", "target", "status");

-- CreateIndex
CREATE INDEX "builds_status_idx" ON "builds"("status");

-- CreateIndex
CREATE UNIQUE INDEX "releases_appId_number_key" ON "releases"("appId", "number");

-- CreateIndex
CREATE INDEX "invocations_appId_createdAt_idx" ON "invocations"("appId", "createdAt" DESC);

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "apps" ADD CONSTRAINT "apps_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "apps" ADD CONSTRAINT "apps_activeReleaseId_fkey" FOREIGN KEY ("activeReleaseId") REFERENCES "releases"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "drafts" ADD CONSTRAINT "drafts_appId_fkey" FOREIGN KEY ("appId") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "builds" ADD CONSTRAINT "builds_appId_fkey" FOREIGN KEY ("appId") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "build_log_lines" ADD CONSTRAINT "build_log_lines_buildId_fkey" FOREIGN KEY ("buildId") REFERENCES "builds"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "releases" ADD CONSTRAINT "releases_appId_fkey" FOREIGN KEY ("appId") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "releases" ADD CONSTRAINT "releases_buildId_fkey" FOREIGN KEY ("buildId") REFERENCES "builds"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invocations" ADD CONSTRAINT "invocations_appId_fkey" FOREIGN KEY ("appId") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invocations" ADD CONSTRAINT "invocations_releaseId_fkey" FOREIGN KEY ("releaseId") REFERENCES "releases"("id") ON DELETE SET NULL ON UPDATE CASCADE;
