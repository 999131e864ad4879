import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify, TomlError } from 'smol-toml';
import { ManifestError } from './manifest-error';
import type { TomlTable } from './toml-table';

/** Reads and parses the project's Cargo.toml; a syntax error names its line and column. */
export async function readCargoManifest(projectDir: string): Promise<TomlTable> {
  let text: string;
  try {
    text = await readFile(join(projectDir, 'Cargo.toml'), 'utf8');
  } catch {
    throw new ManifestError('Cargo.toml: not found in the project folder; put Cargo.toml at the root of the archive');
  }
  return parseCargoManifest(text);
}

export function parseCargoManifest(text: string): TomlTable {
  try {
    // asNeeded: integers beyond 2^53 survive the round trip as BigInt instead of being rounded.
    return parse(text, { integersAsBigInt: 'asNeeded' }) as TomlTable;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml's message is "Invalid TOML document: <why>\n\n<excerpt with a caret>".
    const [firstLine = '', ...excerpt] = error.message.split('\n');
    const why = firstLine.replace(/^Invalid TOML document: /, '');
    throw new ManifestError(
      `Cargo.toml:${error.line}:${error.column}: invalid TOML: ${why}; fix Cargo.toml (\`cargo metadata\` shows the same error locally) and upload again\n${excerpt.join('\n').trim()}`,
    );
  }
}

export async function writeCargoManifest(projectDir: string, manifest: TomlTable): Promise<void> {
  await writeFile(join(projectDir, 'Cargo.toml'), stringify(manifest));
}
