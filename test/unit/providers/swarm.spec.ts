import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, ImageDefaultsSchema } from '../../../src/config/schema.js';
import type { ServiceInfo } from '../../../src/providers/docker-api.js';
import { createProviders } from '../../../src/providers/index.js';
import { SwarmProvider, serviceToWatched } from '../../../src/providers/swarm.js';
import type { ImageRecord } from '../../../src/state/records.js';
import { isOutdated } from '../../../src/watch/evaluate.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const defaults = ImageDefaultsSchema.parse({});
const platform = { os: 'linux', architecture: 'amd64' };

function service(image: string, labels: Record<string, string> = {}): ServiceInfo {
  return {
    ID: 'k4xtly28t3r5d7bw50zw2kews',
    Spec: { Name: 'web', Labels: labels, TaskTemplate: { ContainerSpec: { Image: image } } },
  };
}

function record(remoteDigest: string): ImageRecord {
  return {
    provider: 'swarm',
    image: 'docker.io/library/nginx:1.27',
    remoteDigest,
    lastCheck: 1,
    status: 'unchange',
    updateAvailable: false,
  };
}

describe('serviceToWatched', () => {
  it('watches the tag and counts the pinned digest as what the service runs', () => {
    const w = serviceToWatched(service(`nginx:1.27@${digestA}`), defaults, platform);
    expect(w).toMatchObject({
      provider: 'swarm',
      endpoint: 'swarm',
      name: 'web',
      image: 'docker.io/library/nginx:1.27',
      repoDigests: [digestA],
      state: 'service',
      errors: [],
    });
    expect(w.skip).toBeUndefined();
    expect(w.kind).toBe('container'); // a service shows as a container series
  });

  it('is outdated while the tag digest differs from the pinned one', () => {
    const w = serviceToWatched(service(`nginx:1.27@${digestA}`), defaults, platform);
    expect(isOutdated(w, record(digestA))).toBe(false);
    expect(isOutdated(w, record(digestB))).toBe(true);
  });

  it('skips a service with no pinned digest, or with a digest and no tag', () => {
    expect(serviceToWatched(service('nginx:1.27'), defaults, platform).skip).toMatch(/no pinned/);
    expect(serviceToWatched(service(`nginx@${digestA}`), defaults, platform).skip).toBe(
      'pinned by digest',
    );
  });

  it('reads diun.* service labels, reports bad ones, and names the stack', () => {
    const w = serviceToWatched(
      service(`nginx:1.27@${digestA}`, {
        'diun.max_tags': 'ten',
        'diun.watch_repo': 'true',
        'com.docker.stack.namespace': 'shop',
      }),
      defaults,
      platform,
    );
    expect(w.options.watchRepo).toBe(true);
    expect(w.errors).toEqual([expect.stringContaining('diun.max_tags')]);
    expect(w.seriesLabels).toEqual({ compose_project: 'shop', compose_service: '' });
    expect(w.place).toEqual({ host: 'swarm', group: 'shop / —', path: 'web' });
  });

  it('reports an invalid image reference as an error', () => {
    const w = serviceToWatched(service('Not A Reference'), defaults, platform);
    expect(w.skip).toBe('invalid reference');
    expect(w.errors).toHaveLength(1);
  });
});

describe('SwarmProvider', () => {
  it('is down, with nothing listed, when the daemon does not answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarm-'));
    const provider = new SwarmProvider(
      { endpoint: `unix://${join(dir, 'none.sock')}`, tlsVerify: true, watchByDefault: true },
      defaults,
    );
    try {
      expect(await provider.list()).toEqual([]);
      expect(provider.status()).toEqual([
        expect.objectContaining({ provider: 'swarm', endpoint: 'swarm', up: false }),
      ]);
    } finally {
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is built from providers.swarm', () => {
    const config = ConfigSchema.parse({ providers: { swarm: { endpoint: 'tcp://manager:2375' } } });
    expect(createProviders(config).map((p) => p.name)).toEqual(['swarm']);
  });
});
