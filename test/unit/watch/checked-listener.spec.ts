import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WatchedContainer } from '../../../src/providers/types.js';
import { StateStore } from '../../../src/state/store.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { Watcher } from '../../../src/watch/watcher.js';
import { config, container, digest, fakeProvider, fakeRegistry } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checked-listener-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the listener of ended checks (where the exporter gives memory back)', () => {
  it('hears each run and each re-listing that checked new references, once the state is saved', async () => {
    let listed: WatchedContainer[] = [container({ repoDigests: [digest('a')] })];
    const statePath = join(dir, 'state.json');
    const store = new StateStore(statePath);
    const watcher = new Watcher({
      config: config(),
      providers: [fakeProvider(() => listed)],
      registry: fakeRegistry(() => digest('a')).registry,
      store,
      hooks: noHooks,
    });
    const heard: number[] = [];
    watcher.onChecked(() => heard.push(store.load()?.images.length ?? -1));

    await watcher.run();
    expect(heard).toEqual([1]);

    // A re-listing with nothing new to check (a Docker event): not heard.
    await watcher.refresh();
    expect(heard).toEqual([1]);

    // A new image: the re-listing checks it, and is heard with both images saved.
    listed = [...listed, container({ name: 'redis', image: 'docker.io/library/redis:7' })];
    await watcher.refresh();
    expect(heard).toEqual([1, 2]);
  });
});
