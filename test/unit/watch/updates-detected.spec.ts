import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/exporter-metrics.js';
import type { WatchedContainer } from '../../../src/providers/types.js';
import { StateStore } from '../../../src/state/store.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { Watcher } from '../../../src/watch/watcher.js';
import { parseMetrics, value } from '../../support/metrics-text.js';
import { config, container, digest, fakeProvider, fakeRegistry } from './fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
const labels = { provider: 'docker', image: NGINX };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'updates-detected-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A watcher whose registry answers `remote.current` and whose Docker lists `listed`. */
function rig() {
  const remote = { current: digest('a') };
  let listed: WatchedContainer[] = [container({ repoDigests: [digest('a')] })];
  const watcher = new Watcher({
    config: config(),
    providers: [fakeProvider(() => listed)],
    registry: fakeRegistry(() => remote.current).registry,
    store: new StateStore(join(dir, 'state.json')),
    hooks: noHooks,
  });
  const metrics = createMetrics({
    snapshot: () => watcher.snapshot(),
    providerStatus: () => watcher.providerStatus(),
    lastRun: () => watcher.lastRun,
    lastSuccess: () => watcher.lastSuccess,
  });
  const scrape = async () => parseMetrics(await metrics.register.metrics());
  return {
    watcher,
    remote,
    scrape,
    unlist: () => {
      listed = [];
    },
  };
}

describe('diun_image_updates_detected_total', () => {
  it('counts each rise to outdated once, from 0, and goes with the image', async () => {
    const { watcher, remote, scrape, unlist } = rig();
    await watcher.run();
    expect(value(await scrape(), 'diun_image_updates_detected_total', labels)).toBe(0);

    remote.current = digest('b');
    await watcher.run();
    expect(value(await scrape(), 'diun_image_update_available', labels)).toBe(1);
    expect(value(await scrape(), 'diun_image_updates_detected_total', labels)).toBe(1);

    // Still outdated: no new rise.
    await watcher.run();
    expect(value(await scrape(), 'diun_image_updates_detected_total', labels)).toBe(1);

    // Back to up to date, then outdated again: a second rise.
    remote.current = digest('a');
    await watcher.run();
    remote.current = digest('c');
    await watcher.run();
    expect(value(await scrape(), 'diun_image_updates_detected_total', labels)).toBe(2);

    unlist();
    await watcher.run();
    const gone = await scrape();
    expect(gone.filter((s) => s.name === 'diun_image_updates_detected_total')).toEqual([]);
  });

  it('starts at 0 for the images restored from the state file', async () => {
    const first = rig();
    first.remote.current = digest('b');
    await first.watcher.run();
    const second = rig();
    expect(second.watcher.restore()).toBe(true);
    const samples = await second.scrape();
    expect(value(samples, 'diun_image_update_available', labels)).toBe(1);
    expect(value(samples, 'diun_image_updates_detected_total', labels)).toBe(0);
  });
});
