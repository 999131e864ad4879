import * as vm from 'node:vm';

/**
 * `@kubernetes/client-node` 2.x is an ES module. Node 24 `require`s it natively (the compiled
 * worker does), but jest runs specs in its own module system, which loads an ES module from
 * CommonJS only when Node exposes `vm.SourceTextModule` — that is, when jest runs with
 * `NODE_OPTIONS=--experimental-vm-modules`. Specs that load the client call this first, so that a
 * run without the flag fails with this explanation instead of a SyntaxError deep inside the client.
 */
export function assertEsmRequireSupported(): void {
  const sourceTextModule = (vm as { SourceTextModule?: { prototype: { hasAsyncGraph?: unknown } } }).SourceTextModule;
  if (typeof sourceTextModule?.prototype.hasAsyncGraph === 'function') return;
  throw new Error(
    'these specs load @kubernetes/client-node, an ES module: run jest on Node >= 24.9 with NODE_OPTIONS=--experimental-vm-modules ' +
      '(e.g. NODE_OPTIONS=--experimental-vm-modules node node_modules/jest/bin/jest.js apps/compile-worker/src/executors/kubernetes)',
  );
}
