import type { ArchiveLayout } from './archive-layout';
import { ArchiveRejectedError } from './archive-rejected-error';
import { topLevelName } from './entry-path';

/**
 * Where the project's `Cargo.toml` is: '' when it is at the archive root, or `folder/` when the
 * archive holds exactly one top-level folder (the usual result of zipping a folder) with a
 * `Cargo.toml` in it. The layout holds no macOS junk, so `__MACOSX/` does not count as a folder.
 */
export function findProjectRoot(layout: ArchiveLayout): string {
  if (layout.kindOf('Cargo.toml') === 'file') return '';
  const topLevel = new Set(layout.paths().map(topLevelName));
  const [folder] = topLevel;
  if (
    topLevel.size === 1 &&
    folder !== undefined &&
    layout.kindOf(folder) === 'directory' &&
    layout.kindOf(`${folder}/Cargo.toml`) === 'file'
  ) {
    return `${folder}/`;
  }
  const found = topLevel.size === 0 ? 'the archive is empty' : `the archive root holds ${describe([...topLevel])}`;
  throw new ArchiveRejectedError(
    'no_cargo_toml',
    undefined,
    `no Cargo.toml at the archive root (${found}); archive the project so that Cargo.toml is at the root, or inside a single top-level folder next to src/`,
  );
}

function describe(names: string[]): string {
  const shown = names.slice(0, 5).map((name) => `"${name}"`);
  return names.length > 5 ? `${shown.join(', ')} and ${names.length - 5} more` : shown.join(', ');
}
