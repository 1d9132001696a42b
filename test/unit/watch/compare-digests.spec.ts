import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { INITIAL_LIMIT } from '../../../src/registry/limiter.js';
import { pickPlatform, platformManifests } from '../../../src/registry/platform.js';
import type { ImageReference } from '../../../src/registry/reference.js';
import type { ImageRecord } from '../../../src/state/records.js';
import { checkTargets, planTargets, requestOptions } from '../../../src/watch/check.js';
import { resolveIndexes } from '../../../src/watch/compare-digests.js';
import { groupByImage, isOutdated } from '../../../src/watch/evaluate.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { type ImageKey, imageKey } from '../../../src/watch/model.js';
import { config, container, digest } from './fixtures.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const IMAGE = 'docker.io/library/nginx:latest';

const amd64 = (d: string) => ({ digest: d, platform: { os: 'linux', architecture: 'amd64' } });
const arm64 = (d: string) => ({
  digest: d,
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
});
const attestation = (d: string, of: string) => ({
  digest: d,
  platform: { os: 'unknown', architecture: 'unknown' },
  annotations: {
    'vnd.docker.reference.type': 'attestation-manifest',
    'vnd.docker.reference.digest': of,
  },
});

/** A registry holding `tag` → digest and manifests by digest; counts HEADs and GETs. */
function indexRegistry(manifests: Record<string, { mediaType: string; json: unknown }>) {
  const state = { tag: '', heads: 0, gets: [] as string[] };
  const fake = {
    async headManifest() {
      state.heads += 1;
      return { digest: state.tag, mediaType: manifests[state.tag]?.mediaType ?? OCI_MANIFEST };
    },
    async getManifest(ref: ImageReference) {
      state.gets.push(ref.digest!);
      const m = manifests[ref.digest!];
      if (!m) throw new RegistryError('not_found', 'manifest unknown');
      return { digest: ref.digest!, mediaType: m.mediaType, body: Buffer.from(''), json: m.json };
    },
    async getBlob(): Promise<never> {
      throw new RegistryError('not_found', 'no blob here');
    },
    concurrencyLimit: () => INITIAL_LIMIT,
  };
  return { state, registry: fake as unknown as RegistryClient };
}

const index = (...entries: unknown[]) => ({
  mediaType: OCI_INDEX,
  json: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries },
});

// Index v1: amd64 a1, arm64 b1. v2: arm64 rebuilt. v3: v2 plus an attestation. v4: amd64 rebuilt.
const I1 = digest('1');
const I2 = digest('2');
const I3 = digest('3');
const I4 = digest('4');
const manifests = {
  [I1]: index(amd64(digest('a1')), arm64(digest('b1'))),
  [I2]: index(amd64(digest('a1')), arm64(digest('b2'))),
  [I3]: index(amd64(digest('a1')), arm64(digest('b2')), attestation(digest('c'), digest('a1'))),
  [I4]: index(amd64(digest('a4')), arm64(digest('b2'))),
};

describe('platformManifests and pickPlatform', () => {
  it('leaves out attestation manifests and picks by os, architecture and default variant', () => {
    const entries = platformManifests(manifests[I3]!.json);
    expect(entries.map((e) => e.digest)).toEqual([digest('a1'), digest('b2')]);
    expect(pickPlatform(entries, { os: 'linux', architecture: 'arm64' })?.digest).toBe(
      digest('b2'),
    );
    expect(pickPlatform(entries, { os: 'linux', architecture: 'amd64' })?.digest).toBe(
      digest('a1'),
    );
    expect(pickPlatform(entries, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });

  it('tells arm v6 from arm v7, taking v7 when the image gives no variant', () => {
    const entries = platformManifests({
      manifests: [
        { digest: digest('6'), platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
        { digest: digest('7'), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      ],
    });
    expect(pickPlatform(entries, { os: 'linux', architecture: 'arm' })?.digest).toBe(digest('7'));
    const v6 = { os: 'linux', architecture: 'arm', variant: 'v6' };
    expect(pickPlatform(entries, v6)?.digest).toBe(digest('6'));
  });
});

describe('multi-platform tags', () => {
  // The container was pulled at v1: its RepoDigests hold the index digest I1.
  // Docker gives each image's creation time, which spares the GETs for the remote's.
  const onAmd64 = container({ name: 'amd', repoDigests: [I1], localCreated: 1 });
  const onArm64 = container({
    name: 'arm',
    repoDigests: [I1],
    localCreated: 1,
    platform: { os: 'linux', architecture: 'arm64' },
  });
  const pinnedArm = container({
    name: 'label',
    repoDigests: [I1],
    localCreated: 1,
    options: { ...config().defaults, platform: 'linux/arm64' },
  });

  async function runs(tags: string[], containers = [onAmd64, onArm64, pinnedArm]) {
    const { state, registry } = indexRegistry(manifests);
    const records = new Map<ImageKey, ImageRecord>();
    const targets = planTargets(groupByImage(containers), config());
    const seen: Array<{ gets: string[]; outdated: string[] }> = [];
    for (const tag of tags) {
      state.tag = tag;
      state.gets = [];
      await checkTargets(targets, records, {
        registry,
        workers: 2,
        hooks: noHooks,
        now: () => 1,
      });
      const r = records.get(imageKey('docker', IMAGE));
      seen.push({
        gets: state.gets,
        outdated: containers.filter((c) => isOutdated(c, r)).map((c) => c.name),
      });
    }
    return { seen, state, records };
  }

  it('asks nothing more than a HEAD while the index is the one the containers run', async () => {
    const { seen, state } = await runs([I1, I1]);
    expect(seen).toEqual([
      { gets: [], outdated: [] },
      { gets: [], outdated: [] },
    ]);
    expect(state.heads).toBe(2);
  });

  it('flags only the containers whose platform moved, fetching each index once', async () => {
    const { seen } = await runs([I1, I2, I2, I3, I4]);
    // arm64 rebuilt: the new index and the one the containers run, once each.
    expect(seen[1]).toEqual({ gets: [I2, I1], outdated: ['arm', 'label'] });
    expect(seen[2]).toEqual({ gets: [], outdated: ['arm', 'label'] });
    // An attestation added: nothing anyone runs changed.
    expect(seen[3]).toEqual({ gets: [I3], outdated: ['arm', 'label'] });
    // amd64 rebuilt: now every container is behind, and the new amd64 image's manifest is read
    // for its creation time (its config blob too, which this registry lacks).
    expect(seen[4]).toEqual({ gets: [I4, digest('a4')], outdated: ['amd', 'arm', 'label'] });
  });

  it('keeps in the cache only the indexes still in use', async () => {
    const { records } = await runs([I1, I2, I4]);
    const cached = Object.keys(records.get(imageKey('docker', IMAGE))?.indexes ?? {}).sort();
    expect(cached).toEqual([I1, I4].sort());
  });

  it('compares digests only when the index the container runs is gone from the registry', async () => {
    const gone = container({ name: 'gone', repoDigests: [digest('9')] });
    const { seen } = await runs([I2], [gone]);
    expect(seen[0]).toEqual({ gets: [I2, digest('9')], outdated: ['gone'] });
  });

  it('takes a platform manifest digest in RepoDigests as running that platform', async () => {
    const direct = container({ name: 'direct', repoDigests: [digest('a1')] });
    const { seen } = await runs([I3], [direct]);
    expect(seen[0]).toEqual({ gets: [I3], outdated: [] });
  });
});

describe('file entries', () => {
  const entry = (overrides = {}) =>
    container({ provider: 'file', name: 'entry', repoDigests: [], entry: true, ...overrides });

  it('compare with the first digest recorded, or with the pinned one', async () => {
    const { registry } = indexRegistry({});
    const unpinned = entry();
    const pinned = entry({ name: 'pinned', pinnedDigest: digest('p') });
    const first = await resolveIndexes({
      registry,
      image: IMAGE,
      opts: requestOptions(undefined),
      remote: { digest: digest('r'), mediaType: OCI_MANIFEST },
      containers: [unpinned, pinned],
      recordOf: () => undefined,
    });
    expect(first).toBeUndefined();
    const r: ImageRecord = {
      provider: 'file',
      image: IMAGE,
      status: 'new',
      updateAvailable: false,
      remoteDigest: digest('r'),
      firstDigest: digest('r'),
    };
    expect(isOutdated(unpinned, r)).toBe(false);
    expect(isOutdated(pinned, r)).toBe(true);
    expect(isOutdated(unpinned, { ...r, remoteDigest: digest('s') })).toBe(true);
    expect(isOutdated(pinned, { ...r, remoteDigest: digest('p') })).toBe(false);
  });
});
