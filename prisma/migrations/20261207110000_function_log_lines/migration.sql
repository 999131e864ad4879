-- CreateTable
CREATE TABLE "function_log_lines" (
    "id" BIGSERIAL NOT NULL,
    "appId" UUID NOT NULL,
    "releaseId" UUID NOT NULL,
    "instanceId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "executionId" TEXT,
    "stream" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "function_log_lines_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "function_log_lines_appId_id_idx" ON "function_log_lines"("appId", "id");

-- CreateIndex
CREATE INDEX "function_log_lines_appId_executionId_id_idx" ON "function_log_lines"("appId", "executionId", "id");

-- CreateIndex
CREATE INDEX "function_log_lines_createdAt_idx" ON "function_log_lines"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "function_log_lines_instanceId_seq_key" ON "function_log_lines"("instanceId", "seq");

-- AddForeignKey
ALTER TABLE "function_log_lines" ADD CONSTRAINT "function_log_lines_appId_fkey" FOREIGN KEY ("appId") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
