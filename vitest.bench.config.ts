import { defineConfig } from 'vitest/config';

// `npm run bench`: the benchmarks in bench/ (not part of `npm test`), one file at a time so that
// their figures are not shared with another's load. See docs/benchmarks.md.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
