import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../support/dockerd.js';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { publish, runContainer } from '../support/images.js';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy.js';
import { find, value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';

// The state file must survive a kill -9 at any moment: the next start serves the last picture at
// once, first-seen times included, before asking any registry.
// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('state file across kill -9 and restart', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const count = 6;
  let registry: Registry;
  let proxy: LatencyProxy;
  let exporter: ExporterProcess;
  const images: string[] = [];
  const containers: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startLatencyProxy(registry.host);
    for (let i = 0; i < count; i++) {
      const image = `${proxy.host}/restart/app${i}:1.0`;
      images.push(image);
      await publish(docker, image, `v1 ${suffix} ${i}`);
      containers.push(`restart-${i}-${suffix}`);
      await runContainer(docker, image, containers[i]!);
    }
    // One of them has an update waiting, so there is a first-seen time worth keeping.
    await publish(docker, images[0]!, `v2 ${suffix}`);
    exporter = await startExporter({
      watch: { schedule: '', workers: 1 },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await docker(['rm', '-f', ...containers]).catch(() => undefined);
    await proxy?.close();
    await registry?.stop();
  });

  it('keeps the last state whole when killed in the middle of a run', async () => {
    const first = await exporter.until(
      (s) => find(s, 'diun_image_update_available').length === count,
      'the first run to check every image',
    );
    const outdated = { provider: 'docker', image: images[0]! };
    expect(value(first, 'diun_image_update_available', outdated)).toBe(1);
    const since = value(first, 'diun_image_update_detected_timestamp_seconds', outdated);
    expect(since).toBeGreaterThan(0);
    const success = value(first, 'diun_watch_last_success_timestamp_seconds');
    expect(success).toBeGreaterThan(0);
    const saved = readFileSync(exporter.statePath, 'utf8');

    // A slow registry keeps the second run going; kill -9 after its first request.
    proxy.delayMs = 400;
    const seenBefore = proxy.seen.length;
    void fetch(`${exporter.url}/api/v1/check`, { method: 'POST' }).catch(() => undefined);
    await waitFor(() => proxy.seen.length > seenBefore, {
      what: 'the second run to reach the registry',
    });
    expect(await exporter.kill('SIGKILL')).toBe(null);
    expect(JSON.parse(readFileSync(exporter.statePath, 'utf8'))).toEqual(JSON.parse(saved));

    // Restarted, it serves the saved picture before any registry answer arrives.
    proxy.delayMs = 5_000;
    await exporter.restart();
    const ready = await fetch(`${exporter.url}/-/ready`);
    expect(ready.status).toBe(200);
    const s = await exporter.scrape();
    expect(find(s, 'diun_image_update_available')).toHaveLength(count);
    expect(value(s, 'diun_image_update_available', outdated)).toBe(1);
    expect(value(s, 'diun_image_update_detected_timestamp_seconds', outdated)).toBe(since);
    expect(value(s, 'diun_container_update_available', { container: containers[0]! })).toBe(1);
    expect(value(s, 'diun_watch_last_success_timestamp_seconds')).toBe(success);
    proxy.delayMs = 0;
  });

  it('sets a corrupt state file aside and starts afresh', async () => {
    await exporter.kill('SIGKILL');
    const { writeFileSync, readdirSync } = await import('node:fs');
    writeFileSync(exporter.statePath, '{"version": 1, "images": [tru');
    await exporter.restart();
    await exporter.until(
      (s) => find(s, 'diun_image_update_available').length === count,
      'a fresh run after the corrupt state file',
    );
    expect(exporter.output()).toMatch(/state file unusable/);
    expect(readdirSync(exporter.dir).some((f) => f.startsWith('state.json.bad-'))).toBe(true);
  });
});
