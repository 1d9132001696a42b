import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configureLog } from '../../../src/log.js';
import { StateStore, stateVersion } from '../../../src/state/store.js';
import { Watcher } from '../../../src/watch/watcher.js';
import {
  config,
  container,
  digest,
  fakeProvider,
  fakeRegistry,
  quietHooks,
  record,
} from '../watch/fixtures.js';

let dir: string;
let path: string;
let lines: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'store-'));
  path = join(dir, 'data', 'state.json');
  lines = [];
  configureLog({ sink: (line) => lines.push(line) });
});
afterEach(async () => {
  vi.useRealTimers();
  configureLog({ sink: (line) => process.stderr.write(`${line}\n`) });
  await rm(dir, { recursive: true, force: true });
});

const saved = { images: [record()], containers: [container()] };

describe('StateStore', () => {
  it('has nothing to load before the first save, and creates the folder on save', () => {
    const store = new StateStore(path);
    expect(store.load()).toBeUndefined();
    store.save(saved);
    expect(store.load()).toMatchObject({ version: stateVersion, ...saved });
  });

  it('writes versioned JSON readable only by its owner, with no temporary file left', () => {
    new StateStore(path).save(saved);
    const body = JSON.parse(readFileSync(path, 'utf8'));
    expect(body.version).toBe(1);
    expect(typeof body.savedAt).toBe('number');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'data'))).toEqual(['state.json']);
  });

  it('keeps the previous file whole when a write cannot complete', () => {
    const store = new StateStore(path);
    store.save(saved);
    const before = readFileSync(path, 'utf8');
    // The temporary file cannot be created: the rename that replaces the file never happens.
    mkdirSync(`${path}.tmp-${process.pid}`);
    expect(() => store.save({ images: [], containers: [] })).toThrow(/EISDIR/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it.each([
    ['a file from another release', JSON.stringify({ version: 2, images: [], containers: [] })],
    ['a JSON value that is no object', '[]'],
    ['a file with no containers', JSON.stringify({ version: 1, images: [] })],
  ])('sets %s aside, says where, and starts afresh', (_what, text) => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(path, text);
    const store = new StateStore(path);
    expect(store.load()).toBeUndefined();
    const aside = readdirSync(join(dir, 'data')).filter((f) => f.startsWith('state.json.bad-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, 'data', aside[0]!), 'utf8')).toBe(text);
    expect(lines.find((l) => l.includes('state file unusable'))).toContain(aside[0]!);
    expect(store.load()).toBeUndefined();
  });

  it('read-only (check): reads the file but never writes, moves or creates one', () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(path, '{"version": 1, "images": [tru');
    const store = new StateStore(path, { readOnly: true });
    expect(store.load()).toBeUndefined();
    store.save(saved);
    expect(readdirSync(join(dir, 'data'))).toEqual(['state.json']);
    expect(readFileSync(path, 'utf8')).toBe('{"version": 1, "images": [tru');
  });
});

describe('a restart with the state file', () => {
  it('keeps when each digest was first seen, and is ready before any registry answer', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const image = 'docker.io/library/nginx:latest';
    const remote = fakeRegistry(() => digest('b'));
    const watcher = (registry = remote.registry) =>
      new Watcher({
        config: config(),
        providers: [fakeProvider(() => [container()])],
        registry,
        store: new StateStore(path),
        hooks: quietHooks,
      });

    vi.setSystemTime(new Date('2027-01-15T08:00:00Z'));
    const first = watcher();
    await first.run();
    const since = first.snapshot().images[0]!.record.remoteDigestSince;
    expect(since).toBe(Date.parse('2027-01-15T08:00:00Z') / 1000);

    vi.setSystemTime(new Date('2027-01-16T08:00:00Z'));
    const registry = fakeRegistry(() => digest('b'));
    const second = watcher(registry.registry);
    expect(second.restore()).toBe(true);
    expect(second.ready).toBe(true);
    expect(registry.heads).toEqual([]);
    expect(second.snapshot().images[0]!.record).toMatchObject({
      image,
      updateAvailable: true,
      remoteDigestSince: since,
    });

    await second.run();
    expect(second.snapshot().images[0]!.record).toMatchObject({
      status: 'update',
      remoteDigestSince: since,
      lastCheck: Date.parse('2027-01-16T08:00:00Z') / 1000,
    });
  });
});
