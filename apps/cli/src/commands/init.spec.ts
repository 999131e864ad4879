import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@ignite/testing';
import { CONTRACT_HANDLER } from './init';

const ignite = join(repoRoot, 'node_modules', '.bin', 'ignite');

describe('ignite init', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ignite-init-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const init = (args: string[]) =>
    spawnSync(ignite, ['init', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  it("writes the contract's handler, the fixture's own source", () => {
    expect(CONTRACT_HANDLER).toBe(readFileSync(join(repoRoot, 'sdk', 'ignite-rs', 'code_sources', 'rust-hello', 'src', 'lib.rs'), 'utf8'));
  });

  it('makes a folder ready for the five lines, and says them', () => {
    const result = init(['hello', '--rust-target', 'wasm']);
    expect(result.status).toBe(0);
    expect(readdirSync(join(dir, 'hello')).sort()).toEqual(['.gitignore', 'Cargo.toml', 'src']);
    expect(readFileSync(join(dir, 'hello', 'Cargo.toml'), 'utf8')).toMatch(/^name = "hello"$[\s\S]*^ignite = "\*"$/m);
    expect(readFileSync(join(dir, 'hello', 'src', 'lib.rs'), 'utf8')).toBe(CONTRACT_HANDLER);
    expect(result.stdout).toContain('  cd hello\n');
    expect(result.stdout).toContain('ignite deploy org:hello --yes --rust-target wasm');
    expect(result.stdout).toContain('ignite app create hello --runtime rust --rust-target wasm');
  });

  it('refuses a bad name or a folder with files, and writes nothing', () => {
    const bad = init(['Hello_World']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/"Hello_World" is not a function name: use lower-case letters/);
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'notes.txt'), 'mine');
    const taken = init(['taken']);
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/taken exists and is not empty; pick another name or --dir, nothing was written/);
    expect(readdirSync(join(dir, 'taken'))).toEqual(['notes.txt']);
    expect(readdirSync(dir).sort()).toEqual(['taken']);
  });
});
