import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareProject } from '@ignite/function-manifest';
import { repoRoot } from '@ignite/testing';
import type { BuildTarget } from '../build-executor';
import { kubernetesExecutorConfigSchema } from './kubernetes-config';

// The compile image (docker/compile.Dockerfile) pre-builds a function's dependencies so a build pod
// compiles only the user's crate. That only works while the image builds what the compile worker
// would make of a function: its docker/compile/bake/<target> projects must equal prepareProject's
// output for docker/compile/bake/source with the image's SDK path. Regenerate them after a change
// to the manifest preparation with IGNITE_UPDATE_BAKE=1.
const BAKE = join(repoRoot, 'docker', 'compile', 'bake');
/** The files preparation generates, per target (wasm builds the library itself: no generated bin). */
const GENERATED: Record<BuildTarget, string[]> = { native: ['Cargo.toml', '.ignite/main.rs'], wasm: ['Cargo.toml'] };
/** What docker/compile.Dockerfile builds for each target: `--bin ignite-function`, and `--lib` of ignite-bake. */
const BUILT: Record<BuildTarget, { binName: string; crateKind: 'bin' | 'cdylib' }> = {
  native: { binName: 'ignite-function', crateKind: 'bin' },
  wasm: { binName: 'ignite_bake', crateKind: 'cdylib' },
};
const sdkInImage = kubernetesExecutorConfigSchema.parse({
  K8S_BUILD_IMAGE: 'x',
  IGNITE_API_INTERNAL_URL: 'http://api',
  IGNITE_BUILD_TOKEN_KEY: 'k'.repeat(32),
}).K8S_SDK_PATH_IN_IMAGE;

describe('the compile image bakes what the compile worker builds', () => {
  it.each(['native', 'wasm'] as BuildTarget[])('%s', async (target) => {
    const dir = await mkdtemp(join(tmpdir(), 'bake-'));
    try {
      await cp(join(BAKE, 'source'), dir, { recursive: true });
      const prepared = await prepareProject(dir, { sdkPath: sdkInImage, target });
      expect({ binName: prepared.binName, crateKind: prepared.crateKind }).toEqual(BUILT[target]);
      for (const file of GENERATED[target]) {
        const expected = await readFile(join(dir, file), 'utf8');
        const committed = join(BAKE, target, file);
        if (process.env.IGNITE_UPDATE_BAKE === '1') {
          await mkdir(join(committed, '..'), { recursive: true });
          await writeFile(committed, expected);
        }
        const actual = await readFile(committed, 'utf8').catch(() => '(missing)');
        if (actual !== expected) {
          throw new Error(
            `docker/compile/bake/${target}/${file} is out of date with the compile worker's manifest preparation: run this spec with IGNITE_UPDATE_BAKE=1`,
          );
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
