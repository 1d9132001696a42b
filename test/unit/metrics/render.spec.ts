import { gunzipSync, inflateRawSync } from 'node:zlib';
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { snapshotFamilies } from '../../../src/metrics/families.js';
import {
  renderSnapshotFamilies,
  SnapshotRegistry,
  snapshotFamilyNames,
} from '../../../src/metrics/snapshot-text.js';
import { statuses } from '../../../src/state/records.js';
import type { ImageState, Snapshot } from '../../../src/watch/model.js';
import { container, digest, record } from '../watch/fixtures.js';

// The rendering the exporter had before: one prom-client gauge (or counter) per family, filled
// per scrape, declared with the name, help and labels families.ts gives (prom-client refuses a series with
// a label the family does not declare). Kept here as the reference the direct text must match
// byte for byte.
async function viaGauges(snapshot: Snapshot): Promise<string> {
  const register = new Registry();
  const {
    diun_image_update_available: update,
    diun_image_last_check_timestamp_seconds: check,
    diun_image_created_timestamp_seconds: created,
    diun_image_update_detected_timestamp_seconds: since,
    diun_image_updates_detected_total: detected,
    diun_image_last_check_status: checkStatus,
    diun_image_info: info,
    diun_image_release_info: release,
    diun_image_newer_version_available: newer,
    diun_image_latest_version_info: latestVersion,
    diun_container_update_available: containerUpdate,
  } = Object.fromEntries(
    Object.entries(snapshotFamilies).map(([name, family]) => {
      const config = {
        name,
        help: family.help,
        labelNames: family.labelNames,
        registers: [register],
      };
      return [name, family.type === 'counter' ? new Counter(config) : new Gauge(config)];
    }),
  ) as Record<keyof typeof snapshotFamilies, Gauge & Counter>;
  for (const s of snapshot.images) {
    const r = s.record;
    const l = { provider: r.provider, image: r.image };
    update.set(l, r.updateAvailable ? 1 : 0);
    if (r.lastCheck !== undefined) check.set(l, r.lastCheck);
    if (r.remoteCreated !== undefined) created.set(l, r.remoteCreated);
    if (r.remoteDigestSince !== undefined) since.set(l, r.remoteDigestSince);
    detected.inc(l, s.updatesDetected);
    for (const status of statuses) checkStatus.set({ ...l, status }, r.status === status ? 1 : 0);
    const local_digest = s.localDigests.join(',');
    info.set({ ...l, local_digest, remote_digest: r.remoteDigest ?? '', hub_link: s.hubLink }, 1);
    if (s.releaseLink !== '') release.set({ ...l, release_url: s.releaseLink }, 1);
    if (r.version) {
      newer.set(l, r.version.newer ? 1 : 0);
      const { current, latest, diff } = r.version;
      latestVersion.set(
        { ...l, current_version: current, latest_version: latest, semver_diff: diff },
        1,
      );
    }
    for (const { container: c, updateAvailable } of s.containers) {
      if (c.kind === 'entry') continue;
      containerUpdate.set(
        {
          provider: c.provider,
          endpoint: c.endpoint,
          container: c.name,
          image: c.image,
          compose_project: '',
          compose_service: '',
          ...c.seriesLabels,
        },
        updateAvailable ? 1 : 0,
      );
    }
  }
  return register.metrics();
}

const NGINX = 'docker.io/library/nginx:1.25.3';
const odd = 'we"ird\\name\nnext';

function varied(): Snapshot {
  const images: ImageState[] = [
    {
      record: record({
        image: NGINX,
        remoteCreated: 1_699_999_999.5,
        updateAvailable: true,
        status: 'update',
        version: { current: '1.25.3', latest: '1.27.3', newer: true, diff: 'minor' },
      }),
      hubLink: `https://hub.example/${odd}`,
      releaseLink: `https://github.com/o/${odd}/releases`,
      localDigests: [digest('b'), digest('c')],
      updatesDetected: 2,
      containers: [
        {
          container: container({ name: odd, composeProject: 'p', composeService: 's' }),
          updateAvailable: true,
          status: 'update',
        },
        { container: container({ name: 'web' }), updateAvailable: false, status: 'unchange' },
        {
          container: container({ provider: 'file', name: 'nginx', entry: true }),
          updateAvailable: true,
          status: 'update',
        },
      ],
    },
    {
      record: record({
        image: 'docker.io/library/redis:7',
        remoteDigest: undefined,
        remoteDigestSince: undefined,
        lastCheck: undefined,
        status: 'skip',
      }),
      hubLink: '',
      releaseLink: '',
      localDigests: [],
      updatesDetected: 0,
      containers: [
        {
          container: container({ name: 'cache', skip: 'local build' }),
          updateAvailable: false,
          status: 'skip',
        },
      ],
    },
    {
      record: record({
        image: 'ghcr.io/o/app:v2',
        version: { current: 'v2', latest: 'v2', newer: false, diff: '' },
      }),
      hubLink: 'https://github.com/o/app',
      releaseLink: 'https://github.com/o/app/compare/0a1b2c3...4d5e6f7',
      localDigests: [digest('a')],
      updatesDetected: 0,
      containers: [
        {
          container: container({ name: 'app', image: 'ghcr.io/o/app:v2' }),
          updateAvailable: false,
          status: 'unchange',
        },
      ],
    },
  ];
  return { images, at: 1 };
}

describe('snapshot families rendered as text', () => {
  it('match what prom-client gauges gave, escaping included', async () => {
    expect(snapshotFamilyNames).toHaveLength(11);
    const snapshot = varied();
    const text = renderSnapshotFamilies(snapshot);
    expect(text).toBe(await viaGauges(snapshot));
    expect(text).toContain('container="we\\"ird\\\\name\\nnext"');
    expect(text).toContain('hub_link="https://hub.example/we\\"ird\\\\name\\nnext"} 1\n');
  });

  it('match for a snapshot larger than one deflate run, multi-byte labels included', async () => {
    // 400 images of about a kilobyte of text each: the compressed text is several runs.
    const images = Array.from({ length: 400 }, (_, i) =>
      varied().images.map((s) => ({
        ...s,
        record: { ...s.record, image: `${s.record.image}-${i}` },
        hubLink: `${s.hubLink}/café-${'é'.repeat(i % 7)}`,
      })),
    ).flat();
    const snapshot = { images, at: 1 };
    const text = renderSnapshotFamilies(snapshot);
    expect(text).toBe(await viaGauges(snapshot));
    const register = new SnapshotRegistry({ snapshot: () => snapshot });
    const body = Buffer.concat((await register.exposition(true)).chunks);
    expect(gunzipSync(body).toString()).toBe(text);
    expect(await register.metrics()).toBe(text);
  });

  it('match for an empty snapshot: HELP and TYPE only', async () => {
    const empty = { images: [], at: 0 };
    expect(renderSnapshotFamilies(empty)).toBe(await viaGauges(empty));
  });
});

describe('SnapshotRegistry', () => {
  it('answers plain text in chunks inflated as read, the same text the gzip member carries', async () => {
    // 3,000 images: the text is a dozen deflate runs, so the run buffers are written again.
    const images = Array.from({ length: 3000 }, (_, i) =>
      varied().images.map((s) => ({
        ...s,
        record: { ...s.record, image: `${s.record.image}-${i}` },
        hubLink: `${s.hubLink}/${'ü'.repeat(i % 5)}`,
      })),
    ).flat();
    const snapshot = { images, at: 1 };
    const register = new SnapshotRegistry({ snapshot: () => snapshot });
    new Gauge({ name: 'x_up', help: 'x.', registers: [register] }).set(1);
    const text = `${renderSnapshotFamilies(snapshot)}\n# HELP x_up x.\n# TYPE x_up gauge\nx_up 1\n`;
    const plain = await register.exposition(false);
    expect(plain.encoding).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of plain.chunks) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    const body = Buffer.concat(chunks);
    expect(body.toString()).toBe(text);
    expect(plain.bytes).toBe(body.length);
    const gzip = await register.exposition(true);
    expect(gunzipSync(Buffer.concat(gzip.chunks)).toString()).toBe(text);
  });

  it('drops the series of an image gone from the next snapshot, and reuses the text meanwhile', async () => {
    let snapshot = varied();
    const register = new SnapshotRegistry({ snapshot: () => snapshot });
    const first = await register.metrics();
    expect(first).toContain('image="docker.io/library/redis:7"');
    expect(await register.metrics()).toBe(first);

    snapshot = { images: snapshot.images.filter((s) => !s.record.image.includes('redis')), at: 2 };
    const next = await register.metrics();
    expect(next).not.toContain('redis');
    expect(next).toContain(`image="${NGINX}"`);
  });

  it('parts its families from prom-client ones with one blank line', async () => {
    const register = new SnapshotRegistry({ snapshot: () => ({ images: [], at: 0 }) });
    new Gauge({ name: 'x_up', help: 'x.', registers: [register] }).set(1);
    const text = await register.metrics();
    expect(text).toMatch(/^# HELP diun_image_update_available /);
    expect(text).toMatch(/# TYPE diun_container_update_available gauge\n\n# HELP x_up x\.\n/);
    expect(text.endsWith('x_up 1\n')).toBe(true);
  });

  it('answers gzip as one member that decompresses to the same text, and keeps it per snapshot', async () => {
    let snapshot = varied();
    const register = new SnapshotRegistry({ snapshot: () => snapshot });
    const up = new Gauge({ name: 'x_up', help: 'x.', registers: [register] });
    up.set(1);
    const once = await register.exposition(true);
    expect(once.encoding).toBe('gzip');
    const body = Buffer.concat(once.chunks);
    expect(gunzipSync(body).toString()).toBe(await register.metrics());
    // One member: a 10-byte header, one deflate stream, an 8-byte trailer (CRC and size).
    const text = await register.metrics();
    expect(inflateRawSync(body.subarray(10, body.length - 8)).toString()).toBe(text);
    expect(body.readUInt32LE(body.length - 4)).toBe(Buffer.byteLength(text));
    // prom-client's part is compressed per scrape, the snapshot's reused.
    up.set(0);
    const again = await register.exposition(true);
    expect(again.chunks[1]).toBe(once.chunks[1]);
    expect(gunzipSync(Buffer.concat(again.chunks)).toString()).toMatch(/\nx_up 0\n$/);
    snapshot = { images: [], at: 3 };
    const emptied = gunzipSync(Buffer.concat((await register.exposition(true)).chunks)).toString();
    expect(emptied).not.toContain('redis');
  });
});
