import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@ignite/testing';

// The completion scripts, loaded into the real shells and asked what completes.
const dodil = join(repoRoot, 'node_modules', '.bin', 'dodil');
const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
const script = (shell: string) => {
  const result = spawnSync(dodil, ['completion', shell], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout;
};

/** What bash completes for the words typed so far (the last one being completed). */
function bashCompletes(words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  const result = spawnSync(
    'bash',
    [
      '-c',
      `eval "$1"; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _dodil_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      script('bash'),
    ],
    { encoding: 'utf8' },
  );
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter((line) => line !== '');
}

describe('dodil completion', () => {
  it('bash: completes commands, subcommands and options where they are typed, past arguments', () => {
    expect(bashCompletes(['dodil', ''])).toEqual(['ignite', 'completion', '--help']);
    expect(bashCompletes(['dodil', 'ignite', 'd'])).toEqual(['deploy', 'dev', 'draft']);
    expect(bashCompletes(['dodil', 'ignite', 'draft', 'c'])).toEqual(['compile']);
    expect(bashCompletes(['dodil', 'ignite', 'draft', 'compile', 'org:hello', '--q'])).toEqual(['--quiet']);
    expect(bashCompletes(['dodil', 'completion', 'z'])).toEqual(['zsh']);
  });

  (has('fish') ? it : it.skip)('fish: completes the same (skipped where fish is not installed)', () => {
    const result = spawnSync('fish', ['-c', 'source (dodil completion fish | psub); complete -C "dodil ignite draft c"'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH}` },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(['compile\tbuild the current draft and follow the build']);
  });

  (has('zsh') ? it : it.skip)('zsh: the script loads and registers the completion (skipped where zsh is not installed)', () => {
    const result = spawnSync('zsh', ['-f', '-c', 'eval "$1"; print -r -- $_comps[dodil]', 'zsh', script('zsh')], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toMatch(/_dodil_completion/);
  });

  it('refuses a shell it does not know, naming the ones it does', () => {
    const result = spawnSync(dodil, ['completion', 'tcsh'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Allowed choices are bash, zsh, fish/);
  });
});
