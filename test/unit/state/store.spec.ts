import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configureLog, stderrSink } from '../../../src/log.js';
import type { WatchedContainer } from '../../../src/providers/types.js';
import { StateStore, stateVersion } from '../../../src/state/store.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { Watcher } from '../../../src/watch/watcher.js';
import {
  config,
  container,
  digest,
  fakeProvider,
  fakeRegistry,
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
  configureLog({ sink: stderrSink });
  await rm(dir, { recursive: true, force: true });
});

const saved = { images: [record()], containers: [container()] };

/** The fields of the first logfmt line whose message is `msg`. */
function logged(msg: string): Record<string, string> {
  const line = lines.find((l) => l.includes(`msg=${JSON.stringify(msg)}`)) ?? '';
  const fields: Record<string, string> = {};
  for (const [, key = '', value = ''] of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    fields[key] = value.startsWith('"') ? JSON.parse(value) : value;
  }
  return fields;
}

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
    expect(body.version).toBe(2);
    expect(typeof body.savedAt).toBe('number');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'data'))).toEqual(['state.json']);
  });

  it('writes, row by row, the text JSON.stringify gives, past its buffer and with multi-byte text', () => {
    vi.useFakeTimers({ now: 1_700_000_000_123, toFake: ['Date'] });
    const images = Array.from({ length: 3000 }, (_, i) =>
      record({
        image: `registry.test/team/app-${i}:1.0`,
        error: i % 7 === 0 ? `HEAD failed: ${'é€😀'.repeat(i % 40)} "quoted" \\ ${i}` : undefined,
      }),
    );
    const state = {
      images,
      containers: [container(), container({ name: 'zweite-größe' })],
      lastRun: {
        startedAt: 1,
        finishedAt: 2,
        durationSeconds: 1,
        images: { new: 0, update: 1, unchange: 2, skip: 0, error: 0 },
        providerErrors: ['docker/local: down'],
        skipped: false,
      },
      lastSuccess: 2,
    };
    new StateStore(path).save(state);
    const expected = JSON.stringify({
      version: stateVersion,
      savedAt: Date.now() / 1000,
      ...state,
    });
    expect(Buffer.byteLength(expected)).toBeGreaterThan(512 * 1024);
    expect(readFileSync(path, 'utf8')).toBe(expected);
    new StateStore(path).save({ images: [], containers: [] });
    expect(readFileSync(path, 'utf8')).toBe(
      JSON.stringify({
        version: stateVersion,
        savedAt: Date.now() / 1000,
        images: [],
        containers: [],
      }),
    );
  });

  it('keeps the previous file whole when a write cannot complete', () => {
    const tmp = `${path}.tmp-taken`;
    const store = new StateStore(path, { tempName: () => tmp });
    store.save(saved);
    const before = readFileSync(path, 'utf8');
    // The temporary file cannot be created: the rename that replaces the file never happens.
    mkdirSync(tmp);
    expect(() => store.save({ images: [], containers: [] })).toThrow(/EEXIST/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('never follows a link planted at the temporary name, nor at the name it used to have', () => {
    mkdirSync(join(dir, 'data'));
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    // The old predictable name (state path + pid) is planted: the save picks another name.
    symlinkSync(victim, `${path}.tmp-${process.pid}`);
    new StateStore(path).save(saved);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(path).isFile()).toBe(true);
    // Even a link at the very name chosen is refused (exclusive create), not written through.
    const planted = `${path}.tmp-planted`;
    symlinkSync(victim, planted);
    const store = new StateStore(path, { tempName: () => planted });
    expect(() => store.save(saved)).toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(path).isFile()).toBe(true);
  });

  it('asks for a new temporary name each time, and removes the file when the write fails', () => {
    const names: string[] = [];
    const store = new StateStore(path, {
      tempName: (p) => {
        names.push(`${p}.tmp-${names.length}`);
        return names.at(-1)!;
      },
    });
    store.save(saved);
    // A folder at the state path: the rename fails after the temporary file was written.
    rmSync(path);
    mkdirSync(join(path, 'inside'), { recursive: true });
    expect(() => store.save(saved)).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(join(dir, 'data'))).toEqual(['state.json']);
    expect(names).toEqual([`${path}.tmp-0`, `${path}.tmp-1`]);
  });

  it.each([
    ['a file from another release', JSON.stringify({ version: 3, images: [], containers: [] })],
    ['a JSON value that is no object', '[]'],
    ['a file with no containers', JSON.stringify({ version: 2, images: [] })],
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

  const valid = JSON.stringify({ version: 2, savedAt: 1, ...saved });
  it.each([
    ['an empty file', ''],
    ['a truncated file', valid.slice(0, valid.length / 2)],
    ['binary garbage', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff, 0xfe, 0x1f, 0x8b, 0x08])],
    ['a JSON string', '"images"'],
    ['a file from a future release', JSON.stringify({ version: 99, images: {}, future: true })],
    ['a file with no version', JSON.stringify({ images: [], containers: [] })],
    ['a record that is null', JSON.stringify({ version: 1, images: [null], containers: [] })],
    [
      'a record without its image',
      JSON.stringify({ version: 1, images: [{ provider: 'docker' }], containers: [] }),
    ],
    ['a container that is {}', JSON.stringify({ version: 1, images: [], containers: [{}] })],
    [
      'a last run of the wrong shape',
      JSON.stringify({ version: 1, images: [], containers: [], lastRun: { images: 'x' } }),
    ],
  ])('sets %s aside byte for byte, says why, and starts afresh', (_what, content) => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(path, content);
    const store = new StateStore(path);
    expect(store.load()).toBeUndefined();
    const aside = readdirSync(join(dir, 'data'));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/^state\.json\.bad-\d{13}$/);
    expect(readFileSync(join(dir, 'data', aside[0]!))).toEqual(Buffer.from(content));
    const line = logged('state file unusable, starting afresh');
    expect(line).toMatchObject({ level: 'warn', path, kept: join(dir, 'data', aside[0]!) });
    expect(line.problem).toEqual(expect.any(String));
    store.save(saved);
    expect(store.load()).toMatchObject(saved);
  });

  it('reads a file of the first layout, keeping its containers as the providers show them now', () => {
    mkdirSync(join(dir, 'data'));
    // Version 1 kept Compose fields, a Kubernetes `k8s` bag and a file `entry` flag.
    const v1 = (c: WatchedContainer, old: Record<string, unknown>) => {
      const { kind: _k, seriesLabels: _s, place: _p, updateCommand: _u, ...rest } = c;
      return { ...rest, composeProject: '', composeService: '', ...old };
    };
    const web = container({ name: 'web', composeProject: 'site', composeService: 'web' });
    const pod = { namespace: 'shop', pod: 'api-6d4b9-x2x7k', owner: 'deployment/api' };
    const api = container({ name: 'api', provider: 'kubernetes', k8s: pod });
    const entry = container({ name: 'alpine', provider: 'file', entry: true });
    const old = {
      version: 1,
      savedAt: 1,
      images: [record()],
      containers: [
        v1(web, { composeProject: 'site', composeService: 'web' }),
        v1(api, { k8s: pod }),
        v1(entry, { entry: true }),
      ],
    };
    writeFileSync(path, JSON.stringify(old));
    const store = new StateStore(path);
    const state = store.load();
    expect(state).toMatchObject({ version: stateVersion, images: [record()] });
    expect(state?.containers).toEqual([web, api, entry]);
    expect(readdirSync(join(dir, 'data'))).toEqual(['state.json']);
    store.save(state!);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(stateVersion);
  });

  it('names where a record goes wrong', () => {
    mkdirSync(join(dir, 'data'));
    const bad = { ...record(), updateAvailable: 'yes' };
    writeFileSync(path, JSON.stringify({ version: 1, images: [record(), bad], containers: [] }));
    new StateStore(path).load();
    const line = logged('state file unusable, starting afresh');
    expect(line.problem).toMatch(/^unexpected content at images\[1\]\.updateAvailable: /);
  });

  it('names where a container or the list itself goes wrong', () => {
    mkdirSync(join(dir, 'data'));
    const cases: Array<[unknown, RegExp]> = [
      [
        { ...saved, containers: [{ provider: 'docker' }] },
        /^unexpected content at containers\[0\]\.endpoint: /,
      ],
      [{ ...saved, images: 'none' }, /^unexpected content at images: /],
      [{ ...saved, lastSuccess: 'yesterday' }, /^unexpected content at lastSuccess: /],
    ];
    for (const [content, problem] of cases) {
      lines.length = 0;
      writeFileSync(path, JSON.stringify({ version: stateVersion, ...(content as object) }));
      expect(new StateStore(path).load()).toBeUndefined();
      expect(logged('state file unusable, starting afresh').problem).toMatch(problem);
    }
  });

  it('moves a folder at the state path aside instead of failing (EISDIR)', () => {
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'inside'), 'kept');
    const store = new StateStore(path);
    expect(store.load()).toBeUndefined();
    const aside = readdirSync(join(dir, 'data')).find((f) => f.startsWith('state.json.bad-'));
    expect(readFileSync(join(dir, 'data', aside!, 'inside'), 'utf8')).toBe('kept');
    expect(logged('state file unusable, starting afresh').problem).toBe('cannot read it (EISDIR)');
    store.save(saved);
    expect(store.load()).toMatchObject(saved);
  });

  it('read-only (check): says a bad file is ignored, and leaves a folder where it is', () => {
    mkdirSync(path, { recursive: true });
    expect(new StateStore(path, { readOnly: true }).load()).toBeUndefined();
    expect(statSync(path).isDirectory()).toBe(true);
    expect(logged('state file unusable, ignored').problem).toBe('cannot read it (EISDIR)');
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
  it('starts from a corrupt file: not ready, checks every image, and writes a good file', async () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(path, '{"version": 1, "images": [{"provider": "docker", "ima');
    const remote = fakeRegistry(() => digest('b'));
    const watcher = new Watcher({
      config: config(),
      providers: [fakeProvider(() => [container()])],
      registry: remote.registry,
      store: new StateStore(path),
      hooks: noHooks,
    });
    expect(watcher.restore()).toBe(false);
    expect(watcher.ready).toBe(false);
    await watcher.run();
    expect(remote.heads.map((h) => h.image)).toEqual(['docker.io/library/nginx:latest']);
    expect(watcher.snapshot().images[0]!.record.status).toBe('update');
    expect(new StateStore(path).load()?.images).toHaveLength(1);
    expect(readdirSync(join(dir, 'data')).filter((f) => f.includes('.bad-'))).toHaveLength(1);
  });

  it('counts and logs a state file it cannot write, and the run still ends with its answer', async () => {
    // A folder where the file goes: every save fails (as a full disk or a read-only mount would).
    mkdirSync(join(path, 'inside'), { recursive: true });
    let failures = 0;
    const watcher = new Watcher({
      config: config(),
      providers: [fakeProvider(() => [container()])],
      registry: fakeRegistry(() => digest('b')).registry,
      store: new StateStore(path, { tempName: (p) => `${p}.tmp-x` }),
      hooks: { ...noHooks, stateWriteFailed: () => failures++ },
    });
    const summary = await watcher.run();
    expect(summary.images).toMatchObject({ update: 1 });
    expect(failures).toBe(1);
    expect(logged('could not write the state file')).toMatchObject({ path });
    expect(readdirSync(join(dir, 'data'))).toEqual(['state.json']);
  });

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
        hooks: noHooks,
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
    // The last run in which every provider answered is kept too (diun_watch_last_success_...).
    expect(second.lastSuccess).toBe(first.lastSuccess);
    expect(second.lastSuccess).toBe(Date.parse('2027-01-15T08:00:00Z') / 1000);
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
