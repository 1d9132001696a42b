import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy.js';
import { find, value } from '../support/metrics-text.js';
import { pushPlatformImage, tagManifest } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';

// The file provider's folder holds a small file and a file of 300 images; the big file is
// removed while a check goes through them on the real registry (behind a proxy that adds a
// little latency, so the run lasts long enough to see the removal). The run must stop asking for
// the removed images, count no failure for them, and /metrics must forget them.

const KEPT = 5;
const REMOVED = 300;
const REPO = 'many/app';

describe('images removed while a run checks them (file provider, real registry)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'removed-during-run-'));
  const images = join(dir, 'images');
  let registry: Registry;
  let proxy: LatencyProxy;
  let exporter: ExporterProcess;

  const heads = (tag: string) =>
    proxy.seen.filter((line) => line.startsWith(`HEAD /v2/${REPO}/manifests/${tag}`)).length;
  const entries = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => `- name: ${proxy.host}/${REPO}:${prefix}-${i}\n`).join(
      '',
    );

  beforeAll(async () => {
    registry = await startRegistry();
    const pushed = await pushPlatformImage(registry.url, REPO, {
      os: 'linux',
      architecture: 'amd64',
    });
    for (let i = 0; i < KEPT; i++) await tagManifest(registry.url, REPO, `kept-${i}`, pushed);
    for (let i = 0; i < REMOVED; i++) await tagManifest(registry.url, REPO, `gone-${i}`, pushed);
    proxy = await startLatencyProxy(registry.host, 30);
    mkdirSync(images);
    // Read in name order: the big file's images are checked first.
    writeFileSync(join(images, 'a-big.yml'), entries('gone', REMOVED));
    writeFileSync(join(images, 'b-kept.yml'), entries('kept', KEPT));
    exporter = await startExporter({
      // The run at start-up goes through the 305 images, two at a time.
      watch: { schedule: '', workers: 2 },
      providers: { file: { directory: images } },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await proxy?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops asking for them, counts no failure, and forgets their series', async () => {
    await waitFor(() => heads('gone-') >= 10, { what: 'the run to ask for 10 images' });
    rmSync(join(images, 'a-big.yml'));
    // Ready once the first run has ended.
    await waitFor(async () => (await fetch(`${exporter.url}/-/ready`)).ok, {
      what: 'the run at start-up to end',
      timeoutMs: 30_000,
    });
    const samples = await exporter.scrape();

    // The removal is seen within a few requests: nowhere near the 300 the run had planned.
    expect(heads('gone-')).toBeLessThan(REMOVED / 2);
    for (let i = 0; i < KEPT; i++) expect(heads(`kept-${i}`)).toBe(1);
    for (const status of ['new', 'error']) {
      expect(value(samples, 'diun_watch_last_run_images', { status })).toBe(
        status === 'new' ? KEPT : 0,
      );
    }
    expect(find(samples, 'diun_image_check_failures_total').every((s) => s.value === 0)).toBe(true);
    const text = await exporter.scrapeText();
    expect(text).not.toContain(':gone-');
    expect(text).toContain(`image="${proxy.host}/${REPO}:kept-0"`);
  });
});
