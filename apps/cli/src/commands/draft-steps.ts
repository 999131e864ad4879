import type { BuildView, ReleaseView } from '@ignite/contracts';
import { formatBytes } from '../output';
import type { AppRef } from '../refs';
import type { CommandContext } from './context';
import { followBuild } from './follow-build';

/** The steps of `draft save`, `draft compile` and `draft publish`, which `deploy` runs in a row. */

/** Packs `code` (a directory or an archive) and saves it as the app's draft; returns what to print. */
export async function saveDraft(ctx: CommandContext, target: AppRef, code: string) {
  // Loaded here: tar and the ignore rules are the draft's, not every command's start.
  const { packSource } = require('../pack-source') as typeof import('../pack-source.js');
  const packed = await packSource(code);
  const saved = await ctx.client.saveDraft(target, packed.archive, packed.contentType);
  const what = packed.files > 0 ? `${packed.files} files, ` : '';
  return {
    saved: { ...saved, files: packed.files },
    text: `saved draft revision ${saved.revision} of ${target.org}:${target.app} (${what}${formatBytes(saved.size)}, sha256 ${saved.sha256})`,
  };
}

/** Builds the current draft and follows the build's log to its end; returns the finished build. */
export async function compileDraft(ctx: CommandContext, target: AppRef, quiet: boolean): Promise<BuildView> {
  const build = await ctx.client.compile(target);
  ctx.out.note(`build ${build.id} ${build.status} (draft revision ${build.draftRevision}, ${build.target})`);
  return followBuild(ctx, target.org, build.id, quiet || ctx.out.json);
}

/** What a finished build says: its artifact, or why it failed with its first errors. */
export function buildOutcome(ctx: CommandContext, finished: BuildView): string {
  if (finished.status === 'succeeded') {
    const secs = finished.buildMs !== null ? ` in ${(finished.buildMs / 1000).toFixed(1)} s` : '';
    return ctx.out.colors.green(
      `build succeeded${secs}: artifact ${finished.artifactSha256} (${formatBytes(finished.artifactSize ?? 0)}, ${finished.toolchain})`,
    );
  }
  const errors = Array.isArray(finished.diagnostics) ? (finished.diagnostics as string[]) : [];
  return [
    ctx.out.colors.red(`build ${finished.status}: ${finished.errorSummary ?? 'no reason given'}`),
    ...errors.slice(0, 10).map((e) => `  ${e}`),
  ].join('\n');
}

export function publishedText(target: AppRef, release: ReleaseView): string {
  return `published ${target.org}:${target.app} release ${release.number} (${release.target}, sha256 ${release.artifactSha256})`;
}
