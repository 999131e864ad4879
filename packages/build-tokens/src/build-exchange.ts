import { join, resolve } from 'node:path';
import { isValidBuildId } from './build-tokens';

/**
 * The hand-over between the compile worker and a build pod, through the API's internal endpoints.
 * Both sides agree on it here: the worker writes the build context into the shared data directory,
 * the pod downloads it with a `context:read` token, uploads the artifact with an `artifact:write`
 * token, and the API writes it next to the context, where the worker picks it up.
 *
 *   <IGNITE_DATA_DIR>/builds-uploads/<buildId>/context.tar.gz   written by the worker, served by the API
 *   <IGNITE_DATA_DIR>/builds-uploads/<buildId>/artifact         written by the API (atomically), read by the worker
 */
export const BUILD_EXCHANGE_DIR = 'builds-uploads';
export const BUILD_CONTEXT_FILE = 'context.tar.gz';
export const BUILD_ARTIFACT_FILE = 'artifact';

/** Content type of an artifact upload (the API streams bodies of this type to disk unparsed). */
export const BUILD_ARTIFACT_MEDIA_TYPE = 'application/vnd.ignite.build-artifact';
/** Header with the sha256 (hex) of the uploaded artifact; the API refuses an upload whose bytes do not match. */
export const BUILD_ARTIFACT_SHA256_HEADER = 'x-ignite-artifact-sha256';

export function buildExchangeRoot(dataDir: string): string {
  return resolve(dataDir, BUILD_EXCHANGE_DIR);
}

/** `<dataDir>/builds-uploads/<buildId>`; throws for anything that is not a build id (no path tricks). */
export function buildExchangeDir(dataDir: string, buildId: string): string {
  if (!isValidBuildId(buildId)) throw new Error(`not a build id: ${JSON.stringify(buildId)}`);
  return join(buildExchangeRoot(dataDir), buildId);
}

/** `GET` with a `context:read` token: the build context (tar.gz). */
export function buildContextUrl(apiInternalUrl: string, buildId: string): string {
  return `${apiInternalUrl.replace(/\/+$/, '')}/internal/v1/builds/${encodeURIComponent(buildId)}/context`;
}

/** `PUT` with an `artifact:write` token: the built artifact. */
export function buildArtifactUrl(apiInternalUrl: string, buildId: string): string {
  return `${apiInternalUrl.replace(/\/+$/, '')}/internal/v1/builds/${encodeURIComponent(buildId)}/artifact`;
}
