// One jest run over every workspace: unit specs beside the code, end-to-end specs in test/.
// swc strips types and keeps Nest's decorator metadata; `tsc -b` (run by `npm test` first) type-checks.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper: {
    '^@ignite/([a-z-]+)$': '<rootDir>/packages/$1/src',
    // Generated and ESM-style sources import './x.js' meaning './x.ts'.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2023',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  testTimeout: 30_000,
  maxWorkers: 2,
};
