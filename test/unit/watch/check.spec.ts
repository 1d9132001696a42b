import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureLog, stderrSink } from '../../../src/log.js';
import { RegistryError } from '../../../src/registry/errors.js';
import type { ImageRecord } from '../../../src/state/records.js';
import { checkTargets, planTargets, requestOptions } from '../../../src/watch/check.js';
import { groupByImage } from '../../../src/watch/evaluate.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { type ImageKey, imageKey } from '../../../src/watch/model.js';
import { config, container, digest, fakeRegistry, record } from './fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
const REDIS = 'docker.io/library/redis:7';
const GHCR = 'ghcr.io/acme/api:1';

const regopts = config({
  regopts: [
    { name: 'hub', username: 'hubuser', password: 'hubpass' },
    { name: 'other', username: 'otheruser', password: 'otherpass' },
    { name: 'ghcr.io/acme', selector: 'image', username: 'acme', password: 'acmepass' },
  ],
});

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  configureLog({ sink: (line) => lines.push(line) });
});
afterEach(() => {
  configureLog({ sink: stderrSink });
});

describe('planTargets', () => {
  it('asks once per reference, however many containers and providers use it', () => {
    const targets = planTargets(
      groupByImage([
        container({ name: 'a' }),
        container({ name: 'b' }),
        container({ name: 'c', provider: 'file' }),
        container({ name: 'd', image: REDIS }),
      ]),
      regopts,
    );
    expect(targets.map((t) => [t.image, t.keys, t.containers.map((c) => c.name)])).toEqual([
      [NGINX, [`docker|${NGINX}`, `file|${NGINX}`], ['a', 'b', 'c']],
      [REDIS, [`docker|${REDIS}`], ['d']],
    ]);
  });

  it('leaves out local builds and digest pins', () => {
    const targets = planTargets(
      groupByImage([
        container({ name: 'built', repoDigests: [], skip: 'locally built (no RepoDigests)' }),
        container({ name: 'pinned', image: REDIS, skip: 'pinned by digest' }),
        container({ name: 'pulled', image: REDIS }),
      ]),
      regopts,
    );
    expect(targets.map((t) => [t.image, t.containers.map((c) => c.name)])).toEqual([
      [REDIS, ['pulled']],
    ]);
  });

  it('uses the regopt named by a container of any provider, not only the first', () => {
    const targets = planTargets(
      groupByImage([
        container({ name: 'plain' }),
        container({ name: 'named', provider: 'file', options: { ...plain(), regopt: 'hub' } }),
      ]),
      regopts,
    );
    expect(targets).toHaveLength(1);
    expect(targets[0]!.regopt?.name).toBe('hub');
  });

  it('takes the first container that names a regopt when several do', () => {
    const targets = planTargets(
      groupByImage([
        container({ name: 'plain' }),
        container({ name: 'first', options: { ...plain(), regopt: 'other' } }),
        container({ name: 'second', provider: 'file', options: { ...plain(), regopt: 'hub' } }),
      ]),
      regopts,
    );
    expect(targets[0]!.regopt?.name).toBe('other');
  });

  it('falls back to the selector: image entries when no container names one', () => {
    const targets = planTargets(groupByImage([container({ image: GHCR })]), regopts);
    expect(targets[0]!.regopt?.name).toBe('ghcr.io/acme');
  });

  it('warns once per container about a diun.regopt naming no regopt, and skips that name', () => {
    const lost = container({ name: 'lost', image: GHCR, options: { ...plain(), regopt: 'nope' } });
    const groups = groupByImage([lost, container({ name: 'quiet', image: GHCR })]);
    const first = planTargets(groups, regopts);
    planTargets(groups, regopts);
    // The name is not silently replaced by anonymous access: the image selector still applies.
    expect(first[0]!.regopt?.name).toBe('ghcr.io/acme');
    const warnings = lines.filter((l) => l.includes('level=warn'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('container=lost');
    expect(warnings[0]).toContain('regopt=nope');
  });

  it('warns again for a new container with the same bad label', () => {
    const cfg = config({ regopts: [] });
    const bad = (id: string) =>
      groupByImage([container({ id, name: 'svc', options: { ...plain(), regopt: 'gone' } })]);
    planTargets(bad('one'), cfg);
    planTargets(bad('two'), cfg);
    expect(lines.filter((l) => l.includes('level=warn'))).toHaveLength(2);
  });
});

describe('requestOptions', () => {
  it("sends the regopt's credentials, timeout and TLS choice, else anonymous defaults", () => {
    expect(requestOptions(undefined)).toEqual({
      credentials: {},
      timeoutMs: 10_000,
      insecureTLS: false,
    });
    const withSecrets = config({
      regopts: [{ name: 'r', username: 'u', password: 'p', timeout: '3s', insecureTLS: true }],
    }).regopts[0];
    expect(requestOptions(withSecrets)).toEqual({
      credentials: { username: 'u', password: 'p' },
      timeoutMs: 3_000,
      insecureTLS: true,
    });
  });
});

describe('checkTargets', () => {
  const hooks = () => {
    const seen: string[] = [];
    return {
      ...noHooks,
      seen,
      checked: (p: string) => seen.push(`checked ${p}`),
      failed: (p: string, reason: string) => seen.push(`failed ${p} ${reason}`),
    };
  };

  it('makes one HEAD per reference, with its credentials, and records the digest as new', async () => {
    const { heads, registry } = fakeRegistry(() => digest('b'));
    const containers = [
      container({ name: 'a', options: { ...plain(), regopt: 'hub' } }),
      container({ name: 'b', provider: 'file' }),
    ];
    const records = new Map<ImageKey, ImageRecord>();
    const h = hooks();
    await checkTargets(planTargets(groupByImage(containers), regopts), records, {
      registry,
      workers: 4,
      hooks: h,
      now: () => 1_800_000_000,
    });
    expect(heads).toEqual([
      {
        image: NGINX,
        opts: {
          // The workers bound the registry's adaptive concurrency limit.
          workers: 4,
          credentials: { username: 'hubuser', password: 'hubpass' },
          timeoutMs: 10_000,
          insecureTLS: false,
        },
      },
    ]);
    expect(h.seen).toEqual(['checked docker', 'checked file']);
    expect(records.get(imageKey('file', NGINX))).toMatchObject({
      provider: 'file',
      image: NGINX,
      status: 'new',
      remoteDigest: digest('b'),
      remoteDigestSince: 1_800_000_000,
      lastCheck: 1_800_000_000,
    });
  });

  it('keeps the first-seen time while the digest stays, and resets it when it moves', async () => {
    let remote = digest('a');
    const { registry } = fakeRegistry(() => remote);
    const key = imageKey('docker', NGINX);
    const records = new Map([[key, record({ remoteDigestSince: 1_700_000_000 })]]);
    const targets = planTargets(groupByImage([container()]), regopts);
    const deps = (now: number) => ({ registry, workers: 1, hooks: hooks(), now: () => now });

    await checkTargets(targets, records, deps(1_800_000_000));
    expect(records.get(key)).toMatchObject({
      status: 'unchange',
      remoteDigestSince: 1_700_000_000,
      lastCheck: 1_800_000_000,
    });

    remote = digest('c');
    await checkTargets(targets, records, deps(1_900_000_000));
    expect(records.get(key)).toMatchObject({
      remoteDigest: digest('c'),
      remoteDigestSince: 1_900_000_000,
    });
  });

  it('marks a failed check as error with its reason and keeps the last good digest', async () => {
    const { registry } = fakeRegistry(
      () => new RegistryError('rate_limited', 'registry-1.docker.io: 429 Too Many Requests'),
    );
    const key = imageKey('docker', NGINX);
    const records = new Map([[key, record()]]);
    const h = hooks();
    await checkTargets(planTargets(groupByImage([container()]), regopts), records, {
      registry,
      workers: 1,
      hooks: h,
      now: () => 1_800_000_000,
    });
    expect(records.get(key)).toMatchObject({
      status: 'error',
      reason: 'rate_limited',
      error: 'registry-1.docker.io: 429 Too Many Requests',
      remoteDigest: digest('a'),
      lastCheck: 1_800_000_000,
    });
    expect(h.seen).toEqual(['checked docker', 'failed docker rate_limited']);
    expect(lines.some((l) => l.includes('msg="image check failed"'))).toBe(true);
  });
});

function plain() {
  return container().options;
}

describe('a check while providers stop listing images', () => {
  it('asks nothing for unlisted images, and writes no record for one removed in flight', async () => {
    const listed = new Set<ImageKey>([imageKey('docker', NGINX), imageKey('file', NGINX)]);
    const unlisted: ImageKey[] = [];
    const seen: string[] = [];
    // Each HEAD of nginx takes the file entry away while the request is in flight.
    const { heads, registry } = fakeRegistry(() => {
      listed.delete(imageKey('file', NGINX));
      return digest('b');
    });
    const containers = [
      container({ image: NGINX }),
      container({ provider: 'file', image: NGINX, name: 'entry', entry: true }),
      container({ image: REDIS, name: 'cache' }),
    ];
    const records = new Map<ImageKey, ImageRecord>();
    await checkTargets(planTargets(groupByImage(containers), regopts), records, {
      registry,
      workers: 1,
      hooks: {
        ...noHooks,
        checked: (p) => seen.push(`checked ${p}`),
        failed: (p) => seen.push(`failed ${p}`),
      },
      now: () => 1_800_000_000,
      listed: (key) => listed.has(key),
      unlisted: (keys) => unlisted.push(...keys),
    });
    expect(heads.map((h) => h.image)).toEqual([NGINX]);
    expect([...records.keys()]).toEqual([imageKey('docker', NGINX)]);
    expect(seen).toEqual(['checked docker']);
    expect(unlisted).toEqual([imageKey('file', NGINX), imageKey('docker', REDIS)]);
  });
});
