import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { INITIAL_LIMIT } from '../../../src/registry/limiter.js';
import type { ImageReference } from '../../../src/registry/reference.js';
import type { ImageRecord } from '../../../src/state/records.js';
import { checkTargets, planTargets } from '../../../src/watch/check.js';
import { groupByImage } from '../../../src/watch/evaluate.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { type ImageKey, imageKey } from '../../../src/watch/model.js';
import { config, container, digest } from './fixtures.js';

const NGINX_TAGS = ['1.25.3', '1.25.3-alpine', '1.26.2', '1.27.3', '1.27.3-alpine', 'mainline'];

/** A registry whose tags are `lists[repository]` (or an error); counts the listings. */
function tagRegistry(lists: Record<string, string[] | Error>) {
  const listed: string[] = [];
  const fake = {
    async headManifest() {
      return { digest: digest('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    },
    async listTags(ref: ImageReference) {
      listed.push(ref.repository);
      const list = lists[ref.repository];
      if (list instanceof Error) throw list;
      return list ?? [];
    },
    concurrencyLimit: () => INITIAL_LIMIT,
  };
  return { listed, registry: fake as unknown as RegistryClient };
}

const watching = (image: string, name: string, extra = {}) =>
  container({
    name,
    image,
    options: { ...config().defaults, watchRepo: true, ...extra },
  });

async function check(registry: RegistryClient, containers: ReturnType<typeof container>[]) {
  const records = new Map<ImageKey, ImageRecord>();
  const targets = planTargets(groupByImage(containers), config());
  const deps = { registry, workers: 4, hooks: noHooks, now: () => 1 };
  await checkTargets(targets, records, deps);
  return { records, again: () => checkTargets(targets, records, deps) };
}

const versionOf = (records: Map<string, ImageRecord>, image: string) =>
  records.get(`docker|docker.io/library/${image}`)?.version;

describe('version tracking in a check', () => {
  it('lists a repository once per run however many of its tags run, and judges each tag', async () => {
    const { listed, registry } = tagRegistry({ 'library/nginx': NGINX_TAGS });
    const { records } = await check(registry, [
      watching('docker.io/library/nginx:1.25.3', 'a'),
      watching('docker.io/library/nginx:1.25.3', 'b'),
      watching('docker.io/library/nginx:1.25.3-alpine', 'c'),
      watching('docker.io/library/nginx:mainline', 'd'),
    ]);
    expect(listed).toEqual(['library/nginx']);
    expect(versionOf(records, 'nginx:1.25.3')).toEqual({
      current: '1.25.3',
      latest: '1.27.3',
      newer: true,
      diff: 'minor',
    });
    expect(versionOf(records, 'nginx:1.25.3-alpine')).toMatchObject({ latest: '1.27.3-alpine' });
    // `mainline` is no version: nothing to compare, no verdict.
    expect(versionOf(records, 'nginx:mainline')).toBeUndefined();
  });

  it('lists nothing for images not watched with watch_repo', async () => {
    const { listed, registry } = tagRegistry({ 'library/nginx': NGINX_TAGS });
    const { records } = await check(registry, [
      container({ image: 'docker.io/library/nginx:1.25.3' }),
    ]);
    expect(listed).toEqual([]);
    expect(versionOf(records, 'nginx:1.25.3')).toBeUndefined();
  });

  it("applies the container's tag filters before choosing", async () => {
    const { registry } = tagRegistry({ 'library/nginx': NGINX_TAGS });
    const { records } = await check(registry, [
      watching('docker.io/library/nginx:1.25.3', 'a', { includeTags: ['^1\\.26\\.'] }),
    ]);
    expect(versionOf(records, 'nginx:1.25.3')).toMatchObject({ latest: '1.26.2', newer: true });
  });

  it('keeps the last verdict when a later listing fails, and a new run lists again', async () => {
    const lists: Record<string, string[] | Error> = { 'library/nginx': NGINX_TAGS };
    const { listed, registry } = tagRegistry(lists);
    const { records, again } = await check(registry, [
      watching('docker.io/library/nginx:1.25.3', 'a'),
    ]);
    lists['library/nginx'] = new RegistryError('timeout', 'tags list timed out');
    await again();
    expect(listed).toEqual(['library/nginx', 'library/nginx']);
    expect(versionOf(records, 'nginx:1.25.3')).toMatchObject({ latest: '1.27.3' });
    expect(records.get(imageKey('docker', 'docker.io/library/nginx:1.25.3'))?.status).toBe(
      'unchange',
    );
  });
});
