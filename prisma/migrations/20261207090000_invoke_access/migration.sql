-- CreateEnum
CREATE TYPE "InvokeAuth" AS ENUM ('key', 'public');

-- AlterTable
ALTER TABLE "apps" ADD COLUMN     "concurrencyLimit" INTEGER,
ADD COLUMN     "invokeAuth" "InvokeAuth" NOT NULL DEFAULT 'key',
ADD COLUMN     "rateLimitPerSecond" INTEGER;
