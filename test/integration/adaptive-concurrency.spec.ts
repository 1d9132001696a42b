import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startExporter } from '../support/exporter.js';
import { type Fault, startFaultProxy } from '../support/fault-proxy.js';
import { find, type Sample, value } from '../support/metrics-text.js';
import { pushPlatformImage, tagManifest } from '../support/oci.js';
import { startRegistry } from '../support/registry.js';
import { suiteTeardown } from '../support/teardown.js';

// The built exporter with default settings (no regopt) against a real registry behind a proxy
// that takes K requests at once and answers 429 (Retry-After: 1) to any beyond them, as a
// registry's burst limit does. The exporter does not know K: its adaptive limit finds it.
// Bounded: 200 references, one run, everything on 127.0.0.1.

const K = 6;
const WORKERS = 12;
const REFS = 200;
// A limit that finds K costs a 429 each time it probes one above (about every 20 answers here),
// plus the first overshoot while it doubles; a fixed limit of WORKERS would cost about half
// of the requests.
const MOST_429 = 40;

describe('adaptive registry concurrency against a registry that takes K requests at once', () => {
  const teardown = suiteTeardown();
  const refs: string[] = [];
  let digest = '';
  let limiter: Extract<Fault, { kind: 'concurrencyLimit' }>;
  let host = '';

  beforeAll(async () => {
    const registry = teardown.add(await startRegistry(), (r) => r.stop());
    const pushed = await pushPlatformImage(registry.url, 'adaptive/app', {
      os: 'linux',
      architecture: 'amd64',
    });
    digest = pushed.descriptor.digest;
    for (let i = 0; i < REFS; i++) {
      await tagManifest(registry.url, 'adaptive/app', `t-${i}`, pushed);
    }
    limiter = { kind: 'concurrencyLimit', max: K, delayMs: 30, retryAfter: '1', limited: 0 };
    const proxy = teardown.add(
      await startFaultProxy(registry.host, [{ path: /^\/v2\//, fault: limiter }]),
      (p) => p.close(),
    );
    host = proxy.host;
    for (let i = 0; i < REFS; i++) refs.push(`${proxy.host}/adaptive/app:t-${i}`);
  });

  it('checks every reference, settles near K and counts the few 429s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adaptive-'));
    teardown.add(dir, (d) => rm(d, { recursive: true, force: true }));
    const file = join(dir, 'images.yml');
    await writeFile(file, stringify(refs.map((name) => ({ name }))));
    const exporter = teardown.add(
      await startExporter({
        watch: { schedule: '', workers: WORKERS },
        providers: { file: { filename: file } },
      }),
      (e) => e.stop(),
    );
    const statusOf = (s: Sample[], image: string) =>
      find(s, 'diun_image_last_check_status', { provider: 'file', image }).find(
        (x) => x.value === 1,
      )?.labels.status;
    const s = await exporter.until(
      (s) => refs.every((image) => statusOf(s, image) !== undefined),
      'the start-up run to check every reference',
      60_000,
    );

    for (const image of refs) {
      expect(statusOf(s, image), image).toBe('new');
      expect(find(s, 'diun_image_info', { provider: 'file', image })[0]?.labels.remote_digest).toBe(
        digest,
      );
    }
    expect(value(s, 'diun_image_checks_total', { provider: 'file' })).toBe(REFS);
    expect(
      value(s, 'diun_image_check_failures_total', { provider: 'file', reason: 'rate_limited' }),
    ).toBe(0);

    // The limit went past K at least once (so the registry pushed back), and the 429s the
    // registry sent are the ones the exporter counted, few of them.
    const counted = find(s, 'diun_registry_requests_total', { registry: host, code: '429' })
      .map((x) => x.value)
      .reduce((a, b) => a + b, 0);
    expect(limiter.limited).toBeGreaterThan(0);
    expect(counted).toBe(limiter.limited);
    expect(counted).toBeLessThanOrEqual(MOST_429);
    expect(
      value(s, 'diun_registry_requests_total', {
        registry: host,
        kind: 'manifest_head',
        code: '200',
      }),
    ).toBe(REFS);

    // Halved at most once from K + 1, and never grown past one above K without a 429.
    const limit = value(s, 'diun_registry_concurrency_limit', { registry: host });
    expect(limit).toBeGreaterThanOrEqual(K / 2);
    expect(limit).toBeLessThanOrEqual(K + 2);
  });
});
