import { defineConfig } from 'vitest/config';

// `npm run bench`: the registry-run benchmark only (not part of `npm test`), on the same
// throwaway dockerd as the tests.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
