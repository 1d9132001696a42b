import { readFileSync } from 'node:fs';
// Loads vitest's types so the augmentation below has a module to extend.
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startDockerd } from './dockerd.js';
import { requireBinary } from './exec.js';

// The programs the service tests need, and the Debian package of each (scripts/test.mjs
// installs the missing ones from the same list).
const services = JSON.parse(
  readFileSync(new URL('./services.json', import.meta.url), 'utf8'),
) as Record<string, { package: string; for: string }>;

declare module 'vitest' {
  export interface ProvidedContext {
    /** `unix:///tmp/dockerd-XXXXXX/docker.sock` of the one dockerd shared by the run. */
    dockerHost: string;
  }
}

/** Starts the run's one dockerd (tests read its host with `inject('dockerHost')`). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Missing services fail the run with the package to install; nothing is skipped.
  for (const [program, { package: debianPackage }] of Object.entries(services)) {
    requireBinary(program, debianPackage);
  }
  const dockerd = await startDockerd();
  project.provide('dockerHost', dockerd.host);
  return () => dockerd.cleanup();
}
