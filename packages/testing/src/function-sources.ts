import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';

export const repoRoot = join(__dirname, '..', '..', '..');

/** The contract's fixture handler, the source of truth for what users upload. */
export const rustHelloDir = join(repoRoot, 'sdk', 'ignite-rs', 'code_sources', 'rust-hello');

/**
 * A user's project: `files` maps relative paths to contents; written to a fresh temp directory.
 * `Cargo.toml` defaults to a package named `name` that depends only on `ignite = "*"` (the compile
 * step injects serde, serde_json and tokio, as the contract says).
 */
export function writeFunctionSource(name: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `fn-${name}-`));
  const all = {
    'Cargo.toml': `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nignite = "*"\n`,
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** rust-hello exactly as a user uploads it: the fixture's `src/` with `ignite = "*"`. */
export function rustHelloUserSource(): string {
  const dir = writeFunctionSource('rust-hello', {});
  cpSync(join(rustHelloDir, 'src'), join(dir, 'src'), { recursive: true });
  return dir;
}

/** A directory packed as the tar.gz a user (or the CLI) uploads. */
export async function tarGzOf(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.create({ gzip: true, cwd: dir, portable: true }, ['.']);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
