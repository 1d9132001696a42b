import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import {
  type Fault,
  type FaultProxy,
  type FaultRule,
  startFaultProxy,
} from '../support/fault-proxy.js';
import { find, type Sample, value } from '../support/metrics-text.js';
import { pushPlatformImage, tagManifest } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';

// The built exporter, watching file-provider entries on a real registry behind a proxy that
// injects one fault at a time into the requests of one image (`target`). For each fault, a
// triggered run ends within its bound, `target` is `error` with the right reason (or, for the
// faults a client should absorb, checked fine), the other images are checked in the same run,
// and the last good digest stays in the metrics and the state file. No traffic leaves 127.0.0.1.

const SECRET = 'fault-s3cret-Zq8v';
const USER = 'fault-user';
const TIMEOUT_MS = 2_000;
// A run with one faulty image costs at most its timeout, plus start and bookkeeping.
const RUN_BOUND_MS = TIMEOUT_MS + 2_500;

interface ImageView {
  image: string;
  status: string;
  remoteDigest: string | null;
  lastError: string | null;
  lastErrorReason: string | null;
}

interface RunResult {
  ms: number;
  before: Sample[];
  after: Sample[];
  api: { images: ImageView[] };
  apiText: string;
  rules: FaultRule[];
}

describe('registry faults through the exporter', () => {
  let registry: Registry;
  let proxy: FaultProxy;
  let other: FaultProxy;
  let exporter: ExporterProcess;
  let dir: string;
  let file: string;
  let posts = 0;
  // target and other on A (the fault proxy), elsewhere on B (another host).
  const images: Record<'target' | 'other' | 'elsewhere', string> = {
    target: '',
    other: '',
    elsewhere: '',
  };
  // Only for the politeness test: more images on A.
  const extra: string[] = [];
  const digests: Record<string, string> = {};

  const statusOf = (s: Sample[], image: string) =>
    find(s, 'diun_image_last_check_status', { provider: 'file', image }).find((x) => x.value === 1)
      ?.labels.status;
  const failures = (s: Sample[], reason: string) =>
    value(s, 'diun_image_check_failures_total', { provider: 'file', reason }) ?? 0;
  const remoteDigest = (s: Sample[], image: string) =>
    find(s, 'diun_image_info', { provider: 'file', image })[0]?.labels.remote_digest;

  const startMain = async () => {
    exporter = await startExporter({
      watch: { schedule: '', workers: 4 },
      regopts: [
        {
          name: proxy.host,
          selector: 'image',
          timeout: `${TIMEOUT_MS}ms`,
          username: USER,
          password: SECRET,
        },
        { name: other.host, selector: 'image', timeout: `${TIMEOUT_MS}ms` },
      ],
      providers: { file: { filename: file } },
    });
    posts = 0;
    await exporter.until(
      (s) => Object.values(images).every((i) => statusOf(s, i) !== undefined),
      'the start-up run to check every entry',
    );
  };

  // One triggered run with `rules` set on the proxy; the /api/v1/check limit (10 a minute) is
  // kept by starting the exporter again (same state file) before it is reached.
  const runWith = async (rules: Array<Omit<FaultRule, 'hits'>>): Promise<RunResult> => {
    if (posts >= 8) {
      await exporter.kill();
      const restartedAt = Date.now() / 1000;
      await exporter.restart();
      posts = 0;
      // The last run's time is restored from the state file: wait for a run of this process,
      // or the POST below joins the start-up run, whose requests the new rules never see.
      await exporter.until(
        (s) => (value(s, 'diun_watch_last_run_timestamp_seconds') ?? 0) >= restartedAt,
        'the start-up run after a restart',
      );
    }
    const before = await exporter.scrape();
    proxy.resetCounts();
    other.resetCounts();
    const added = rules.map((r) => proxy.add(r));
    const started = Date.now();
    try {
      posts++;
      const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      proxy.clear();
    }
    const ms = Date.now() - started;
    const after = await exporter.scrape();
    const apiText = await (await fetch(`${exporter.url}/api/v1/images`)).text();
    return { ms, before, after, api: JSON.parse(apiText), apiText, rules: added };
  };

  const view = (r: RunResult, image: string) => r.api.images.find((i) => i.image === image);

  const stateRecord = async (image: string) => {
    const state = JSON.parse(await readFile(exporter.statePath, 'utf8')) as {
      images: Array<{ provider: string; image: string; remoteDigest?: string; status: string }>;
    };
    return state.images.find((i) => i.provider === 'file' && i.image === image);
  };

  /** What a user sees for a fault that must fail `target` with `reason`. */
  const expectFailure = async (r: RunResult, reason: string, message: RegExp) => {
    expect(r.ms).toBeLessThan(RUN_BOUND_MS);
    expect(statusOf(r.after, images.target)).toBe('error');
    expect(failures(r.after, reason) - failures(r.before, reason)).toBe(1);
    // The last good digest stays, in the metrics, the API and the state file.
    expect(remoteDigest(r.after, images.target)).toBe(digests.target);
    const row = view(r, images.target);
    expect(row?.remoteDigest).toBe(digests.target);
    expect(row?.lastErrorReason).toBe(reason);
    expect(row?.lastError).toMatch(message);
    expect(r.apiText).not.toContain(SECRET);
    const saved = await stateRecord(images.target);
    expect(saved).toMatchObject({ status: 'error', remoteDigest: digests.target });
  };

  /** The images the fault did not touch were checked fine in the same run. */
  const expectOthersFine = (r: RunResult, which: Array<keyof typeof images>) => {
    for (const key of which) {
      expect(statusOf(r.after, images[key]), key).toBe('unchange');
      expect(remoteDigest(r.after, images[key]), key).toBe(digests[key]);
    }
    const total = (s: Sample[]) => value(s, 'diun_image_checks_total', { provider: 'file' }) ?? 0;
    expect(total(r.after) - total(r.before)).toBe(Object.keys(images).length);
  };

  const manifests = (repo: string) => new RegExp(`^/v2/faults/${repo}/manifests/`);
  const on = (method: string, repo: string, fault: Fault, times?: number) => ({
    method,
    path: manifests(repo),
    fault,
    ...(times !== undefined && { times }),
  });
  const noDigestHead = on('HEAD', 'target', { kind: 'noDigest' });

  beforeAll(async () => {
    registry = await startRegistry();
    for (const repo of ['target', 'other', 'elsewhere', 'burst', 'extra1', 'extra2']) {
      const pushed = await pushPlatformImage(registry.url, `faults/${repo}`, {
        os: 'linux',
        architecture: 'amd64',
      });
      await tagManifest(registry.url, `faults/${repo}`, '1.0', pushed);
      digests[repo] = pushed.descriptor.digest;
    }
    // A asks for Basic credentials at its ping, so requests to it carry Authorization; B is
    // another host, where a redirect from A points.
    proxy = await startFaultProxy(registry.host, [
      {
        method: 'GET',
        path: /^\/v2\/$/,
        fault: { kind: 'status', status: 401, headers: { 'www-authenticate': 'Basic realm="A"' } },
      },
    ]);
    other = await startFaultProxy(registry.host);
    images.target = `${proxy.host}/faults/target:1.0`;
    images.other = `${proxy.host}/faults/other:1.0`;
    for (const repo of ['burst', 'extra1', 'extra2']) {
      extra.push(`${proxy.host}/faults/${repo}:1.0`);
      digests[extra.at(-1)!] = digests[repo]!;
    }
    images.elsewhere = `${other.host}/faults/elsewhere:1.0`;
    dir = await mkdtemp(join(tmpdir(), 'registry-faults-'));
    file = join(dir, 'images.yml');
    await writeFile(file, stringify(Object.values(images).map((name) => ({ name }))));
    // Digests are keyed by image reference from here on.
    for (const key of Object.keys(images) as Array<keyof typeof images>) {
      digests[images[key]] = digests[key]!;
    }
    await startMain();
  });

  afterAll(async () => {
    await exporter?.stop();
    await proxy?.close();
    await other?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a connection closed without an answer: registry_error', async () => {
    const r = await runWith([on('HEAD', 'target', { kind: 'refuse' })]);
    await expectFailure(r, 'registry_error', /HEAD .*faults\/target:1\.0: \w+/);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a registry that never answers: timeout, at the regopt timeout', async () => {
    const r = await runWith([on('HEAD', 'target', { kind: 'hang' })]);
    await expectFailure(r, 'timeout', /no complete answer within 2000ms/);
    expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a body that trickles in after fast headers: timeout over the whole answer', async () => {
    const r = await runWith([
      noDigestHead,
      on('GET', 'target', { kind: 'slowBody', byteEveryMs: 50 }),
    ]);
    await expectFailure(r, 'timeout', /GET .*no complete answer within 2000ms/);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it.each([500, 502, 503])('HTTP %i: registry_error', async (status) => {
    const r = await runWith([on('HEAD', 'target', { kind: 'status', status })]);
    await expectFailure(r, 'registry_error', new RegExp(`HTTP ${status}`));
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('HTTP 404: not_found', async () => {
    const body = '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}';
    const r = await runWith([on('HEAD', 'target', { kind: 'status', status: 404, body })]);
    await expectFailure(r, 'not_found', /HTTP 404/);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a 401 whatever is sent (a challenge that changes each time): auth, after two tries', async () => {
    const r = await runWith([on('HEAD', 'target', { kind: 'authLoop' })]);
    await expectFailure(r, 'auth', /: HTTP 401$/);
    expect(r.rules[0]!.hits).toBe(2);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a HEAD with no Docker-Content-Digest: one GET gives the digest, no error', async () => {
    const r = await runWith([noDigestHead]);
    expect(r.ms).toBeLessThan(RUN_BOUND_MS);
    expect(r.rules[0]!.hits).toBe(1);
    expect(
      proxy.seen.filter((s) => s.method === 'GET' && manifests('target').test(s.path)),
    ).toHaveLength(1);
    expect(statusOf(r.after, images.target)).toBe('unchange');
    expectOthersFine(r, ['target', 'other', 'elsewhere']);
  });

  it('a Docker-Content-Digest that does not name the body: invalid', async () => {
    const r = await runWith([noDigestHead, on('GET', 'target', { kind: 'wrongDigest' })]);
    await expectFailure(r, 'invalid', /Docker-Content-Digest.*does not match its digest/);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a manifest that is not JSON: invalid', async () => {
    const r = await runWith([noDigestHead, on('GET', 'target', { kind: 'malformedJson' })]);
    await expectFailure(r, 'invalid', /the manifest is not JSON/);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a body past the client cap, sent without Content-Length: invalid, not buffered whole', async () => {
    const r = await runWith([
      noDigestHead,
      on('GET', 'target', { kind: 'hugeBody', bytes: 256 * 1024 * 1024 }),
    ]);
    await expectFailure(r, 'invalid', /body larger than 4194304 bytes/);
    expectOthersFine(r, ['other', 'elsewhere']);
  });

  it('a redirect to another host: followed, without the Authorization header', async () => {
    const r = await runWith([on('HEAD', 'target', { kind: 'redirect', host: other.host })]);
    expect(r.ms).toBeLessThan(RUN_BOUND_MS);
    expect(r.rules[0]!.hits).toBe(1);
    // A got credentials; B, where the redirect pointed, got the request without them.
    const redirected = proxy.seen.find(
      (s) => s.method === 'HEAD' && manifests('target').test(s.path),
    );
    expect(redirected?.authorization).toBe(true);
    const followed = other.seen.filter((s) => manifests('target').test(s.path));
    expect(followed).toEqual([
      { method: 'HEAD', path: '/v2/faults/target/manifests/1.0', authorization: false },
    ]);
    expectOthersFine(r, ['target', 'other', 'elsewhere']);
  });

  it('429 without Retry-After: backs off (1 s, then 2 s past the budget), rate_limited', async () => {
    const r = await runWith([on('HEAD', 'target', { kind: 'rateLimit' })]);
    expect(r.rules[0]!.hits).toBe(2);
    expect(statusOf(r.after, images.target)).toBe('error');
    expect(view(r, images.target)?.lastErrorReason).toBe('rate_limited');
    expect(view(r, images.target)?.lastError).toMatch(/: HTTP 429$/);
    expect(view(r, images.target)?.remoteDigest).toBe(digests[images.target]);
    expect(r.ms).toBeLessThan(RUN_BOUND_MS);
    // The other registry is not slowed by A's back-off.
    expectOthersFine(r, ['elsewhere']);
  });

  it('429 with Retry-After: 30: no retry, and the rest of A waits instead of asking', async () => {
    const r = await runWith([on('HEAD', 'target', { kind: 'rateLimit', retryAfter: '30' })]);
    expect(r.rules[0]!.hits).toBe(1);
    expect(view(r, images.target)?.lastError).toMatch(/retry after 30s/);
    expect(view(r, images.target)?.lastErrorReason).toBe('rate_limited');
    expect(r.ms).toBeLessThan(RUN_BOUND_MS);
    expectOthersFine(r, ['elsewhere']);

    // The next run, within the 30 s: nothing is sent to A, every A image is rate_limited at
    // once, and B is checked as usual.
    const next = await runWith([]);
    expect(proxy.seen).toEqual([]);
    for (const image of [images.target, images.other]) {
      expect(view(next, image)?.lastErrorReason).toBe('rate_limited');
      expect(view(next, image)?.lastError).toMatch(/not sent, .* asked to slow down/);
      expect(view(next, image)?.remoteDigest).toBe(digests[image]);
    }
    expect(next.ms).toBeLessThan(1_000);
    expectOthersFine(next, ['elsewhere']);
  });

  it('leaves no credential in the API, the metrics, the state file or the log', async () => {
    const basic = Buffer.from(`${USER}:${SECRET}`).toString('base64');
    const everything = [
      await (await fetch(`${exporter.url}/api/v1/images`)).text(),
      await exporter.scrapeText(),
      await readFile(exporter.statePath, 'utf8'),
      exporter.output(),
    ].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(basic);
  });

  it('keeps to maxConcurrent per registry and waits out GHCR-style burst 429s', async () => {
    const politeFile = join(dir, 'polite.yml');
    const onA = [images.other, ...extra];
    await writeFile(politeFile, stringify([...onA, images.elsewhere].map((name) => ({ name }))));
    proxy.resetCounts();
    // Every HEAD to A is slow, so the cap is what bounds the requests in flight.
    const slow = proxy.add({
      method: 'HEAD',
      path: /^\/v2\/faults\/\w+\/manifests\//,
      fault: { kind: 'delay', ms: 300 },
    });
    const polite = await startExporter({
      watch: { schedule: '', workers: 8 },
      regopts: [{ name: proxy.host, selector: 'image', timeout: '10s', maxConcurrent: 2 }],
      providers: { file: { filename: politeFile } },
    });
    try {
      let s = await polite.until(
        (s) => [...onA, images.elsewhere].every((i) => statusOf(s, i) === 'new'),
        'the start-up run to check every entry',
      );
      expect(slow.hits).toBe(onA.length);
      expect(proxy.maxInFlight).toBe(2);

      // A burst limit as GHCR's: two 429s without Retry-After, then 200. With the default
      // budget (10 s) the back-off (1 s, then 2 s) absorbs it: no failure, two 429s only.
      proxy.clear();
      const burst = proxy.add(on('HEAD', 'burst', { kind: 'rateLimit' }, 2));
      const res = await fetch(`${polite.url}/api/v1/check`, { method: 'POST' });
      expect(res.status).toBe(200);
      s = await polite.scrape();
      expect(burst.hits).toBe(2);
      for (const image of [...onA, images.elsewhere]) {
        expect(statusOf(s, image), image).toBe('unchange');
        expect(remoteDigest(s, image), image).toBe(digests[image]);
      }
      expect(failures(s, 'rate_limited')).toBe(0);
    } finally {
      proxy.clear();
      await polite.stop();
    }
  });

  it('a registry port nobody listens on: registry_error, the other registry checked', async () => {
    const closed = `127.0.0.1:${await freePort()}/faults/gone:1.0`;
    const closedFile = join(dir, 'closed.yml');
    await writeFile(closedFile, stringify([{ name: closed }, { name: images.elsewhere }]));
    const lone = await startExporter({
      watch: { schedule: '', workers: 2 },
      regopts: [{ name: '127.0.0.1', selector: 'image', timeout: `${TIMEOUT_MS}ms` }],
      providers: { file: { filename: closedFile } },
    });
    try {
      const s = await lone.until(
        (s) => statusOf(s, closed) !== undefined && statusOf(s, images.elsewhere) !== undefined,
        'the start-up run',
      );
      expect(statusOf(s, closed)).toBe('error');
      expect(
        value(s, 'diun_image_check_failures_total', { provider: 'file', reason: 'registry_error' }),
      ).toBe(1);
      expect(statusOf(s, images.elsewhere)).toBe('new');
      const api = (await (await fetch(`${lone.url}/api/v1/images`)).json()) as {
        images: ImageView[];
      };
      expect(api.images.find((i) => i.image === closed)?.lastError).toMatch(/ECONNREFUSED/);
    } finally {
      await lone.stop();
    }
  });
});
