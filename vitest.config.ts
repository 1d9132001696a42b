import { defineConfig } from 'vitest/config';

// Two projects. `unit`: pure functions and in-process servers on loopback, no service
// (`npm run test:unit` needs nothing but `npm ci`). `services`: integration and end-to-end tests
// against the real programs, which the global setup checks for. Each services file starts the
// daemons it uses (a dockerd, a registry, Prometheus, Alertmanager) on its own socket and free
// ports, so files of both projects share one pool and run side by side. Most of a services file's
// time is spent waiting on those daemons (scrape and evaluation intervals, Alertmanager's group
// waits), not on the CPU, so the pool is wider than the machine's cores.
export default defineConfig({
  test: {
    maxWorkers: 4,
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
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
