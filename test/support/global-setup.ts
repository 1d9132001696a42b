// Loads vitest's types so the augmentation below has a module to extend.
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startDockerd } from './dockerd.js';
import { requireBinary } from './exec.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `unix:///tmp/dockerd-XXXXXX/docker.sock` of the one dockerd shared by the run. */
    dockerHost: string;
  }
}

/** Starts the run's one dockerd (tests read its host with `inject('dockerHost')`). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Missing services fail the run with the package to install; nothing is skipped.
  requireBinary('dockerd', 'docker.io');
  requireBinary('docker', 'docker.io');
  requireBinary('docker-registry', 'docker-registry');
  requireBinary('prometheus', 'prometheus');
  requireBinary('promtool', 'prometheus');
  requireBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  requireBinary('amtool', 'prometheus-alertmanager');
  requireBinary('docker-compose', 'docker-compose');
  requireBinary('openssl', 'openssl');
  requireBinary('chromium', 'chromium');
  requireBinary('haproxy', 'haproxy');
  requireBinary('busybox', 'busybox-static');
  requireBinary('curl', 'curl');
  requireBinary('kubectl', 'kubernetes-client');
  requireBinary('yamllint', 'yamllint');
  const dockerd = await startDockerd();
  project.provide('dockerHost', dockerd.host);
  return () => dockerd.cleanup();
}
