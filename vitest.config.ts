import { defineConfig } from 'vitest/config';

// Two projects. `unit`: pure functions and in-process servers on loopback, no service, run in
// parallel (`npm run test:unit` needs nothing but `npm ci`). `services`: integration and
// end-to-end tests against the real programs, which the global setup checks for and whose one
// shared dockerd it starts; those tests share that daemon, so their files run one at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.spec.ts'],
        },
      },
      {
        test: {
          name: 'services',
          include: ['test/integration/**/*.spec.ts', 'test/e2e/**/*.spec.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
