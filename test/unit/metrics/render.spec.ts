import { gunzipSync, inflateRawSync } from 'node:zlib';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { renderSnapshotFamilies, SnapshotRegistry } from '../../../src/metrics/snapshot-text.js';
import { statuses } from '../../../src/state/records.js';
import type { ImageState, Snapshot } from '../../../src/watch/model.js';
import { container, digest, record } from '../watch/fixtures.js';

// The rendering the exporter had before: one prom-client gauge per family, filled per scrape.
// Kept here as the reference the direct text must match byte for byte.
const helps: Record<string, string> = {};
async function viaGauges(snapshot: Snapshot, names: string[]): Promise<string> {
  const register = new Registry();
  const gauge = (name: string, labelNames: string[]) =>
    new Gauge({ name, help: helps[name] ?? '', labelNames, registers: [register] });
  const id = ['provider', 'image'];
  const g = {
    update: gauge(names[0]!, id),
    check: gauge(names[1]!, id),
    created: gauge(names[2]!, id),
    since: gauge(names[3]!, id),
    status: gauge(names[4]!, [...id, 'status']),
    info: gauge(names[5]!, [...id, 'local_digest', 'remote_digest', 'hub_link']),
    newer: gauge(names[6]!, id),
    latest: gauge(names[7]!, [...id, 'current_version', 'latest_version', 'semver_diff']),
    container: gauge(names[8]!, [
      'provider',
      'endpoint',
      'container',
      'image',
      'compose_project',
      'compose_service',
    ]),
  };
  for (const s of snapshot.images) {
    const r = s.record;
    const l = { provider: r.provider, image: r.image };
    g.update.set(l, r.updateAvailable ? 1 : 0);
    if (r.lastCheck !== undefined) g.check.set(l, r.lastCheck);
    if (r.remoteCreated !== undefined) g.created.set(l, r.remoteCreated);
    if (r.remoteDigestSince !== undefined) g.since.set(l, r.remoteDigestSince);
    for (const status of statuses) g.status.set({ ...l, status }, r.status === status ? 1 : 0);
    const local_digest = s.localDigests.join(',');
    g.info.set({ ...l, local_digest, remote_digest: r.remoteDigest ?? '', hub_link: s.hubLink }, 1);
    if (r.version) {
      g.newer.set(l, r.version.newer ? 1 : 0);
      const { current, latest, diff } = r.version;
      g.latest.set(
        { ...l, current_version: current, latest_version: latest, semver_diff: diff },
        1,
      );
    }
    for (const { container: c, updateAvailable } of s.containers) {
      if (c.kind === 'entry') continue;
      g.container.set(
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

/** The HELP line of each family, as the direct rendering gives it. */
function learnHelps(): string[] {
  const text = renderSnapshotFamilies({ images: [], at: 0 });
  const names: string[] = [];
  for (const m of text.matchAll(/^# HELP (\S+) (.*)$/gm)) {
    names.push(m[1]!);
    helps[m[1]!] = m[2]!;
  }
  return names;
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
      localDigests: [digest('b'), digest('c')],
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
      localDigests: [],
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
      localDigests: [digest('a')],
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
    const names = learnHelps();
    expect(names).toHaveLength(9);
    const snapshot = varied();
    const text = `${renderSnapshotFamilies(snapshot)}\n`;
    expect(text).toBe(await viaGauges(snapshot, names));
    expect(text).toContain('container="we\\"ird\\\\name\\nnext"');
    expect(text).toContain('hub_link="https://hub.example/we\\"ird\\\\name\\nnext"} 1\n');
  });

  it('match for an empty snapshot: HELP and TYPE only', async () => {
    const names = learnHelps();
    const empty = { images: [], at: 0 };
    expect(`${renderSnapshotFamilies(empty)}\n`).toBe(await viaGauges(empty, names));
  });
});

describe('SnapshotRegistry', () => {
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
