-- AlterEnum
ALTER TYPE "BlobKind" ADD VALUE 'precompiled';

-- CreateTable
CREATE TABLE "precompiled_components" (
    "componentSha256" TEXT NOT NULL,
    "cacheKey" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "precompiled_components_pkey" PRIMARY KEY ("componentSha256","cacheKey")
);
