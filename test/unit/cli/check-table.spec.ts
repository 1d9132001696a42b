import { describe, expect, it } from 'vitest';
import { renderCheckTable } from '../../../src/cli/check-table.js';
import { painter } from '../../../src/cli/colour.js';
import type { RunSummary } from '../../../src/state/records.js';
import { imageView, runView } from '../../../src/view/images.js';
import { evaluate } from '../../../src/watch/evaluate.js';
import { recordsOf } from '../../support/records.js';
import { container, digest, record } from '../watch/fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
const POSTGRES = 'docker.io/library/postgres:16';
const REDIS = 'docker.io/library/redis:7';
const ALPINE = 'docker.io/library/alpine:3';
const APP = 'registry.example.com/team/app:dev';

const records = recordsOf;

describe('check table', () => {
  it('lists outdated images first, then failed ones, then the rest, with short digests', () => {
    const snapshot = evaluate(
      [
        container({ name: 'alpine', image: ALPINE }),
        container({ name: 'app', image: APP, repoDigests: [], skip: 'locally built' }),
        container({ name: 'cache', image: REDIS }),
        // Listed before the outdated one: the outdated row still comes first in its image.
        container({ name: 'web-2', repoDigests: [digest('b')] }),
        container({ name: 'web-1', repoDigests: [digest('a')] }),
      ],
      records(
        record({ image: ALPINE }),
        record({
          image: REDIS,
          status: 'error',
          error: 'registry-1.docker.io: 401 Unauthorized',
          reason: 'auth',
        }),
        record({ image: NGINX, remoteDigest: digest('b'), status: 'unchange' }),
      ),
      1_800_000_000,
    );
    expect(renderCheckTable(snapshot)).toBe(
      [
        // 82 columns with 12-digit digests: 8 digits let every name show in 80.
        'CONTAINER  IMAGE                              STATUS    LOCAL     REMOTE',
        'web-1      docker.io/library/nginx:latest     update    aaaaaaaa  bbbbbbbb',
        'web-2      docker.io/library/nginx:latest     unchange  bbbbbbbb  bbbbbbbb',
        'cache      docker.io/library/redis:7          error     aaaaaaaa  aaaaaaaa',
        'alpine     docker.io/library/alpine:3         unchange  aaaaaaaa  aaaaaaaa',
        'app        registry.example.com/team/app:dev  skip      -         -',
        '',
        '4 images (5 containers): 1 outdated, 1 error, 1 skipped, 1 up to date',
        'error: docker.io/library/redis:7: registry-1.docker.io: 401 Unauthorized',
      ].join('\n'),
    );
  });

  it('sorts an image whose last check failed but that runs an outdated container with the outdated', () => {
    const snapshot = evaluate(
      [
        container({ name: 'cache', image: REDIS }),
        container({ name: 'db', image: POSTGRES }),
        container({ name: 'web', image: NGINX }),
      ],
      records(
        // The cache's last good digest is newer than what it runs; the check after that timed
        // out. It must not hide among the failures sorted by name.
        record({
          image: REDIS,
          remoteDigest: digest('c'),
          status: 'error',
          error: 'timeout',
          reason: 'timeout',
        }),
        record({ image: POSTGRES, status: 'error', error: 'not found', reason: 'not_found' }),
        record({ image: NGINX, remoteDigest: digest('b') }),
      ),
      1_800_000_000,
    );
    const rows = renderCheckTable(snapshot).split('\n');
    expect(rows.slice(1, 4).map((r) => r.split(/\s+/).slice(0, 3))).toEqual([
      ['web', NGINX, 'update'],
      ['cache', REDIS, 'error'],
      ['db', POSTGRES, 'error'],
    ]);
    expect(rows).toContain('3 images (3 containers): 2 outdated, 1 error, 0 up to date');
  });

  it('puts the outdated containers of an image first, the others in listing order', () => {
    const snapshot = evaluate(
      [
        container({ name: 'c-current', repoDigests: [digest('b')] }),
        container({ name: 'b-old' }),
        container({ name: 'a-current', repoDigests: [digest('b')] }),
        container({ name: 'd-old' }),
      ],
      records(record({ remoteDigest: digest('b') })),
      1_800_000_000,
    );
    const names = renderCheckTable(snapshot)
      .split('\n')
      .slice(1, 5)
      .map((r) => r.split(' ')[0]);
    expect(names).toEqual(['b-old', 'd-old', 'c-current', 'a-current']);
  });

  it('names a pod’s container as kubectl finds it: namespace/pod/container', () => {
    const pod = container({
      provider: 'kubernetes',
      endpoint: 'kubernetes',
      name: 'db',
      k8s: { namespace: 'shop', pod: 'db-0', owner: 'statefulset/db' },
    });
    const snapshot = evaluate(
      [pod],
      records(record({ provider: 'kubernetes', remoteDigest: digest('b') })),
      1_800_000_000,
    );
    expect(renderCheckTable(snapshot).split('\n')[1]?.split(' ')[0]).toBe('shop/db-0/db');
  });

  it('says so when nothing is watched', () => {
    expect(renderCheckTable({ images: [], at: 0 })).toBe(
      'CONTAINER  IMAGE  STATUS  LOCAL  REMOTE\n\n0 images (0 containers): 0 outdated, 0 up to date',
    );
  });
});

describe('check --json', () => {
  it('prints every image with its containers and the run, times in ISO 8601', () => {
    const snapshot = evaluate(
      [
        container({
          name: 'web',
          id: 'c0ffee',
          composeProject: 'site',
          composeService: 'web',
        }),
      ],
      records(
        record({
          remoteDigest: digest('b'),
          remoteDigestSince: 1_800_000_000,
          lastCheck: 1_800_000_060,
        }),
      ),
      1_800_000_060,
    );
    const run: RunSummary = {
      startedAt: 1_800_000_000,
      finishedAt: 1_800_000_060,
      durationSeconds: 60,
      images: { new: 0, update: 1, unchange: 0, skip: 0, error: 0 },
      providerErrors: [],
      skipped: false,
    };
    // The body `diun-exporter check --json` writes (src/cli.ts), through JSON as a script reads it.
    const body = JSON.parse(
      JSON.stringify({ images: snapshot.images.map(imageView), lastRun: runView(run, snapshot) }),
    );
    expect(body).toEqual({
      images: [
        {
          provider: 'docker',
          image: NGINX,
          status: 'update',
          updateAvailable: true,
          localDigests: [digest('a')],
          remoteDigest: digest('b'),
          remoteDigestSince: '2027-01-15T08:00:00.000Z',
          remoteCreated: null,
          lastCheck: '2027-01-15T08:01:00.000Z',
          lastError: null,
          lastErrorReason: null,
          hubLink: 'https://hub.docker.com/_/nginx',
          releaseLink: null,
          version: null,
          containers: [
            {
              endpoint: 'local',
              id: 'c0ffee',
              name: 'web',
              state: 'running',
              status: 'update',
              updateAvailable: true,
              composeProject: 'site',
              composeService: 'web',
              k8sNamespace: null,
              pod: null,
              k8sOwner: null,
              repoDigests: [digest('a')],
              pinnedDigest: null,
              skipReason: null,
              errors: [],
              place: { host: 'local', group: 'site / web', path: 'web' },
              updateCommand: 'docker compose -p site pull web && docker compose -p site up -d web',
            },
          ],
        },
      ],
      lastRun: {
        startedAt: '2027-01-15T08:00:00.000Z',
        finishedAt: '2027-01-15T08:01:00.000Z',
        durationSeconds: 60,
        images: { new: 0, update: 1, unchange: 0, skip: 0, error: 0 },
        providerErrors: [],
        outdated: [NGINX],
      },
    });
  });
});

describe('check table: versions and file entries', () => {
  it('names the newer versions under the summary, and the digest a file entry is compared with', () => {
    const snapshot = evaluate(
      [
        container({ name: 'db', image: POSTGRES }),
        container({
          provider: 'file',
          name: 'alpine:3',
          image: ALPINE,
          repoDigests: [],
          entry: true,
          pinnedDigest: digest('c'),
        }),
      ],
      records(
        record({
          image: POSTGRES,
          version: { current: '16', latest: '17', newer: true, diff: 'major' },
        }),
        record({ provider: 'file', image: ALPINE, firstDigest: digest('a') }),
      ),
      1_800_000_000,
    );
    expect(renderCheckTable(snapshot).split('\n')).toEqual([
      'CONTAINER  IMAGE                          STATUS    LOCAL         REMOTE',
      'alpine:3   docker.io/library/alpine:3     update    cccccccccccc  aaaaaaaaaaaa',
      'db         docker.io/library/postgres:16  unchange  aaaaaaaaaaaa  aaaaaaaaaaaa',
      '',
      '2 images (2 containers): 1 outdated, 1 up to date',
      'newer version: docker.io/library/postgres:16: 16 -> 17 (major)',
    ]);
  });
});

describe('check table: 80 columns and colour', () => {
  const LONG =
    'registry.example.com:5000/some-organisation/a-rather-long-repository-name:v1.2.3-alpine';
  const snapshot = () =>
    evaluate(
      [
        container({ name: 'a-compose-project-with-a-long-name-web-frontend-1', image: LONG }),
        container({ name: 'db', image: POSTGRES }),
        container({ name: 'cache', image: REDIS }),
      ],
      records(
        record({ image: LONG, remoteDigest: digest('b') }),
        record({ image: POSTGRES }),
        record({
          image: REDIS,
          status: 'error',
          error: `${'no such host '.repeat(10)}`,
          reason: 'registry_error',
        }),
      ),
      1_800_000_000,
    );

  it('fits every line in 80 columns, names losing their middle and messages wrapping', () => {
    const lines = renderCheckTable(snapshot(), { durationSeconds: 2.06 }).split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(lines[1]).toBe(
      'a-compo…ontend-1  registry.exampl…me:v1.2.3-alpine  update    aaaaaaaa  bbbbbbbb',
    );
    expect(lines).toContain(
      '3 images (3 containers): 1 outdated, 1 error, 1 up to date, checked in 2.1 s',
    );
    expect(lines.join('\n')).not.toContain('\x1b');
  });

  it('colours the header, statuses and counts when asked, with the same layout', () => {
    const plain = renderCheckTable(snapshot());
    const coloured = renderCheckTable(snapshot(), { paint: painter(true) });
    expect(coloured).toContain('\x1b[33mupdate\x1b[39m');
    expect(coloured).toContain('\x1b[31merror\x1b[39m');
    expect(coloured).toContain('\x1b[1mCONTAINER\x1b[22m');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping the escapes is the point
    expect(coloured.replace(/\x1b\[\d+m/g, '')).toBe(plain);
  });

  it('uses a wider terminal to show more', () => {
    const lines = renderCheckTable(snapshot(), { width: 200 }).split('\n');
    expect(lines[1]).toContain(LONG);
  });
});

describe('check table: the summary', () => {
  it('wraps between its items, never inside one', () => {
    const snapshot = evaluate(
      [
        container({ name: 'alpine', image: ALPINE }),
        container({ name: 'app', image: APP, repoDigests: [], skip: 'locally built' }),
        container({ name: 'cache', image: REDIS }),
        container({ name: 'web', repoDigests: [digest('a')] }),
      ],
      records(
        record({ image: ALPINE }),
        record({ image: REDIS, status: 'error', error: 'timeout', reason: 'timeout' }),
        record({ image: NGINX, remoteDigest: digest('b') }),
      ),
      1_800_000_000,
    );
    const lines = renderCheckTable(snapshot, { durationSeconds: 2.06 }).split('\n');
    expect(lines.slice(-3)).toEqual([
      '4 images (4 containers): 1 outdated, 1 error, 1 skipped, 1 up to date,',
      '  checked in 2.1 s',
      'error: docker.io/library/redis:7: timeout',
    ]);
  });
});
