import { defineConfig } from 'vitest/config';

// `npm run bench`: the benchmarks in bench/ (not part of `npm test`), on the same throwaway
// dockerd as the tests (only registry-run.bench.ts uses it). See docs/benchmarks.md.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
