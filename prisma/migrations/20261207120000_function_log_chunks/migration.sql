-- Function logs as chunks (a row per shipped batch): the per-line table of the day before goes, with its lines.
-- DropForeignKey
ALTER TABLE "function_log_lines" DROP CONSTRAINT "function_log_lines_appId_fkey";

-- DropTable
DROP TABLE "function_log_lines";

-- CreateTable
CREATE TABLE "function_log_chunks" (
    "id" BIGSERIAL NOT NULL,
    "appId" UUID NOT NULL,
    "releaseId" UUID NOT NULL,
    "entryId" TEXT NOT NULL,
    "lineCount" INTEGER NOT NULL,
    "firstAt" TIMESTAMP(3) NOT NULL,
    "lastAt" TIMESTAMP(3) NOT NULL,
    "executionIds" TEXT[],
    "instanceIds" TEXT[],
    "executions" TEXT[],
    "streams" TEXT[],
    "texts" TEXT[],
    "ats" TIMESTAMP(3)[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "function_log_chunks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "function_log_chunks_appId_id_idx" ON "function_log_chunks"("appId", "id");

-- CreateIndex
CREATE INDEX "function_log_chunks_executionIds_idx" ON "function_log_chunks" USING GIN ("executionIds");

-- CreateIndex
CREATE INDEX "function_log_chunks_createdAt_idx" ON "function_log_chunks"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "function_log_chunks_appId_entryId_key" ON "function_log_chunks"("appId", "entryId");

-- AddForeignKey
ALTER TABLE "function_log_chunks" ADD CONSTRAINT "function_log_chunks_appId_fkey" FOREIGN KEY ("appId") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
