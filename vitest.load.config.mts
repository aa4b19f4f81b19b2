/** The load suite (test/load): `npm run test:load`. Minutes of CPU, so not part of `npm test` (docs/benchmarks.md, Load). */
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.mts';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/load/**/*.test.ts'],
      exclude: ['**/node_modules/**'],
      testTimeout: 1_800_000,
      hookTimeout: 1_800_000,
    },
  }),
);
