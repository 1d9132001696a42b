import { defineConfig } from 'vitest/config';

// `npm run screenshot:dashboard`, `npm run screenshot:email`: scripts that drive the real rig (dockerd, registry, exporter,
// Prometheus, chromium) to write the README's pictures; not tests, never part of `npm test`.
export default defineConfig({
  test: {
    include: ['scripts/*.screenshot.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
