import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { noteBuildScript, removeBuildOverrides } from './build-overrides';
import { readCargoManifest, writeCargoManifest } from './cargo-manifest';
import { FUNCTION_MAIN_PATH, wireFunctionBinary } from './function-binary';
import { type FunctionComponent, wireFunctionComponent } from './function-component';
import { locateHandler } from './handler-location';
import { ManifestError } from './manifest-error';
import { injectPlatformDependencies } from './platform-dependencies';
import type { PreparedProject, PrepareOptions } from './prepared-project';
import { applyReleaseProfile } from './release-profile';
import { swapInSdk } from './sdk-swap';
import { isTable, type TomlTable } from './toml-table';
import { detachFromWorkspace } from './workspace-detachment';

/**
 * Turns an unpacked user project into one the platform can build: rewrites Cargo.toml in place
 * (own workspace, bundled SDK, the contract's dependencies, a bin target running the handler, or
 * for wasm the handler's crate as a component, the release profile the target needs) and removes files that would override the platform's build.
 * Everything of the user's that need not change is kept. All checks run before anything is
 * written, so a ManifestError leaves the project as it was.
 */
export async function prepareProject(projectDir: string, options: PrepareOptions): Promise<PreparedProject> {
  if (!isAbsolute(options.sdkPath)) throw new Error(`sdkPath must be absolute, got ${options.sdkPath}`);
  const notes: string[] = [];
  const manifest = await readCargoManifest(projectDir);
  const packageName = requirePackageName(manifest);

  detachFromWorkspace(manifest, options.target, notes);
  swapInSdk(manifest, options.sdkPath, notes);
  injectPlatformDependencies(manifest, options.target, options.sdkPath, notes);
  const handler = await locateHandler(projectDir, manifest, packageName);
  // native: a program (a bin target); wasm: a wasi:http/proxy component (the handler's crate as a cdylib).
  const binary: FunctionComponent & { mainSource?: string } =
    options.target === 'wasm'
      ? await wireFunctionComponent(projectDir, manifest, handler, packageName, notes)
      : { crateKind: 'bin', ...wireFunctionBinary(manifest, handler, packageName, notes) };
  applyReleaseProfile(manifest, options.target, notes);

  await writeCargoManifest(projectDir, manifest);
  if (binary.mainSource !== undefined) {
    const mainPath = join(projectDir, FUNCTION_MAIN_PATH);
    await mkdir(dirname(mainPath), { recursive: true });
    await writeFile(mainPath, binary.mainSource);
  }
  await removeBuildOverrides(projectDir, notes);
  await noteBuildScript(projectDir, manifest, notes);

  return { packageName, binName: binary.binName, crateKind: binary.crateKind, handlerFile: handler.file, notes };
}

function requirePackageName(manifest: TomlTable): string {
  const pkg = manifest.package;
  if (isTable(pkg) && typeof pkg.name === 'string' && pkg.name !== '') return pkg.name;
  if (isTable(pkg)) throw new ManifestError('Cargo.toml: [package] has no name; add name = "my-function" under [package]');
  const what = isTable(manifest.workspace) ? 'is a virtual workspace manifest ([workspace] without [package])' : 'has no [package] section';
  throw new ManifestError(
    `Cargo.toml ${what}; the archive root must be the function's own package: archive the folder of the package with the #[ignite::main] handler, whose Cargo.toml starts with [package] and a name`,
  );
}
