import { describe, expect, it } from 'vitest';
import { registerSnapshotGauges } from '../../../src/metrics/snapshot-gauges.js';
import { SnapshotRegistry } from '../../../src/metrics/snapshot-text.js';
import type { ImageState } from '../../../src/watch/model.js';
import { container, record } from '../watch/fixtures.js';

const NGINX = 'docker.io/library/nginx:1.25.3';

async function scrape(images: ImageState[]): Promise<string> {
  const source = {
    snapshot: () => ({ images, at: 1 }),
    providerStatus: () => [],
    lastRun: () => undefined,
    lastSuccess: () => undefined,
  };
  const register = new SnapshotRegistry(source);
  registerSnapshotGauges(register, source);
  return register.metrics();
}

const image = (overrides: Partial<ImageState> = {}): ImageState => ({
  record: record({ image: NGINX }),
  hubLink: '',
  releaseLink: '',
  localDigests: [],
  containers: [],
  updatesDetected: 0,
  ...overrides,
});

describe('version series', () => {
  it('gives one newer-version and one latest-version series per watch_repo image', async () => {
    const text = await scrape([
      image({
        record: record({
          image: NGINX,
          version: { current: '1.25.3', latest: '1.27.3', newer: true, diff: 'minor' },
        }),
      }),
    ]);
    expect(text).toContain(
      `diun_image_newer_version_available{provider="docker",image="${NGINX}"} 1\n`,
    );
    expect(text).toContain(
      `diun_image_latest_version_info{provider="docker",image="${NGINX}",current_version="1.25.3",latest_version="1.27.3",semver_diff="minor"} 1\n`,
    );
  });

  it('says 0 with the running tag as latest when nothing newer passes, and nothing without watch_repo', async () => {
    const text = await scrape([
      image({
        record: record({
          image: NGINX,
          version: { current: '1.25.3', latest: '1.25.3', newer: false, diff: '' },
        }),
      }),
      image({ record: record({ image: 'docker.io/library/redis:7' }) }),
    ]);
    expect(text).toContain(
      `diun_image_newer_version_available{provider="docker",image="${NGINX}"} 0\n`,
    );
    expect(text).toContain('latest_version="1.25.3",semver_diff=""} 1\n');
    expect(text).not.toContain('redis:7"} 0\ndiun_image_latest');
    expect(text.match(/diun_image_newer_version_available\{/g)).toHaveLength(1);
    expect(text.match(/diun_image_latest_version_info\{/g)).toHaveLength(1);
  });
});

describe('container series', () => {
  it('leaves out file entries, which are no containers', async () => {
    const text = await scrape([
      image({
        containers: [
          { container: container({ name: 'web' }), updateAvailable: false, status: 'unchange' },
          {
            container: container({ provider: 'file', name: 'nginx', entry: true }),
            updateAvailable: true,
            status: 'update',
          },
        ],
      }),
    ]);
    expect(text).toContain('container="web"');
    expect(text).not.toContain('container="nginx"');
  });
});
