/** The load suite (test/load): `npm run test:load`. About a minute of CPU, so not part of `npm test` (docs/benchmarks.md, Load); .ci/run runs it. */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

// Not mergeConfig: it concatenates arrays, so the base's `include` (the whole suite) and its `exclude` (test/load)
// would survive, and this config would run every test but the load suite.
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/load/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    coverage: { enabled: false },
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
  },
});
