-- CreateIndex
CREATE INDEX "invocations_createdAt_idx" ON "invocations"("createdAt");
