import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../support/dockerd.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { pullImage, runContainer } from '../support/images.js';
import { find, parseMetrics, type Sample } from '../support/metrics-text.js';
import { type PushedManifest, pushPlatformImage, tagManifest } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';

// A bounded soak: hundreds of containers and references on the real Docker engine and the real
// registry, while containers are recreated (Docker events), checks run on a 4-second schedule
// and on demand, tags move, and /metrics is scraped without pause. What a user must see at the
// end: the process alive, every series there exactly once. RSS and scrape times are reported
// (reports/soak.json and the log), not asserted: figures belong in docs/reliability.md.
const TAGS = 40;
const PER_TAG = 3;
const FILE_ENTRIES = 200;
const MOVED = 10;
// SOAK_SECONDS lengthens it by hand (`SOAK_SECONDS=300 npx vitest run test/integration/soak.spec.ts`).
const SOAK_MS = Number(process.env.SOAK_SECONDS ?? 30) * 1000;

async function inPool<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  const queue = [...items];
  const workers = Array.from({ length: size }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(workers);
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('soak: hundreds of containers and references under events, checks and scrapes', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const names = Array.from({ length: TAGS * PER_TAG }, (_, i) => `soak-${suffix}-${i}`);
  const tagOf = (i: number) => `v${i % TAGS}`;
  let registry: Registry;
  let exporter: ExporterProcess;
  let app: PushedManifest;
  let dir: string | undefined;

  const ref = (tag: string) => `${registry.host}/soak/app:${tag}`;
  const mib = (s: Sample[], metric: string) =>
    Number(((find(s, metric)[0]?.value ?? 0) / 2 ** 20).toFixed(1));
  const memory = (s: Sample[]) => ({
    rss: mib(s, 'process_resident_memory_bytes'),
    heapUsed: mib(s, 'nodejs_heap_size_used_bytes'),
  });

  beforeAll(async () => {
    registry = await startRegistry();
    app = await pushPlatformImage(registry.url, 'soak/app', { os: 'linux', architecture: 'amd64' });
    const files = await pushPlatformImage(registry.url, 'soak/files', {
      os: 'linux',
      architecture: 'amd64',
    });
    const tags = Array.from({ length: TAGS }, (_, i) => `v${i}`);
    await inPool(tags, 6, (tag) => tagManifest(registry.url, 'soak/app', tag, app));
    const fileTags = Array.from({ length: FILE_ENTRIES }, (_, i) => `f${i}`);
    await inPool(fileTags, 6, (tag) => tagManifest(registry.url, 'soak/files', tag, files));
    await inPool(tags, 4, (tag) => pullImage(docker, ref(tag)));
    await inPool(
      names.map((name, i) => ({ name, i })),
      6,
      ({ name, i }) => runContainer(docker, ref(tagOf(i)), name),
    );
    const entries = fileTags.map((tag) => `- name: ${registry.host}/soak/files:${tag}\n`).join('');
    dir = mkdtempSync(join(tmpdir(), 'soak-'));
    writeFileSync(join(dir, 'images.yml'), entries);
    exporter = await startExporter({
      watch: { schedule: '*/4 * * * * *', jitter: '0s', workers: 10 },
      providers: {
        docker: { endpoint: dockerd.host, watchByDefault: true },
        file: { filename: join(dir, 'images.yml') },
      },
    });
    await exporter.until(
      (s) =>
        find(s, 'diun_image_update_available').filter((x) => x.labels.image?.includes('/soak/'))
          .length ===
        TAGS + FILE_ENTRIES,
      'the first check of every soak reference',
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    await exporter?.stop();
    await inPool(names, 6, (name) => docker(['rm', '-f', name]).catch(() => undefined));
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it(
    'keeps serving, loses and doubles no series, and reports its memory and scrape times',
    async () => {
      const memorySeen = [memory(await exporter.scrape())];
      const deadline = Date.now() + SOAK_MS;
      const scrapeMs: number[] = [];
      const problems: string[] = [];
      const checks: number[] = [];
      let recreated = 0;

      // Two scrapers without pause; each scrape must answer, with no series twice.
      const scraper = async () => {
        while (Date.now() < deadline) {
          const started = performance.now();
          const res = await fetch(`${exporter.url}/metrics`);
          const text = await res.text();
          scrapeMs.push(performance.now() - started);
          if (scrapeMs.length % 100 === 0) memorySeen.push(memory(parseMetrics(text)));
          if (!res.ok) problems.push(`scrape answered ${res.status}`);
          const keys = parseMetrics(text).map((s) => `${s.name}${JSON.stringify(s.labels)}`);
          if (new Set(keys).size !== keys.length) problems.push('a scrape held a series twice');
        }
      };
      // Containers recreated one after another: create, start, kill and destroy events.
      const churn = async () => {
        for (let i = 0; Date.now() < deadline; i = (i + 7) % names.length) {
          await docker(['rm', '-f', names[i]!]);
          await runContainer(docker, ref(tagOf(i)), names[i]!);
          recreated += 1;
        }
      };
      // On-demand checks beside the schedule; beyond 10 a minute the answer is 429.
      const trigger = async () => {
        while (Date.now() < deadline) {
          const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
          checks.push(res.status);
          await res.arrayBuffer();
          await sleep(4_000);
        }
      };
      // A third of the way in, MOVED tags get a new image: their containers become outdated.
      const move = async () => {
        await sleep(SOAK_MS / 3);
        const next = await pushPlatformImage(registry.url, 'soak/app', {
          os: 'linux',
          architecture: 'amd64',
        });
        for (let t = 0; t < MOVED; t++) await tagManifest(registry.url, 'soak/app', `v${t}`, next);
      };
      await Promise.all([scraper(), scraper(), churn(), trigger(), move()]);

      // Quiet again: one more check, then the picture must be whole.
      const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      expect([200, 429]).toContain(res.status);
      const s = await exporter.until(
        (s) =>
          find(s, 'diun_container_update_available', { compose_project: '' }).filter(
            (x) => x.labels.container?.startsWith(`soak-${suffix}-`) && x.value === 1,
          ).length ===
          MOVED * PER_TAG,
        'the containers of the moved tags to show as outdated',
        30_000,
      );
      expect(problems).toEqual([]);
      expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
      const ours = find(s, 'diun_container_update_available').filter((x) =>
        x.labels.container?.startsWith(`soak-${suffix}-`),
      );
      expect(new Set(ours.map((x) => x.labels.container)).size).toBe(names.length);
      expect(ours).toHaveLength(names.length);
      for (const [i, name] of names.entries()) {
        const series = ours.find((x) => x.labels.container === name)!;
        expect(series.labels.image).toBe(ref(tagOf(i)));
        expect(series.value).toBe(i % TAGS < MOVED ? 1 : 0);
      }
      const soakImages = (metric: string) =>
        find(s, metric).filter((x) => x.labels.image?.includes('/soak/'));
      expect(soakImages('diun_image_update_available')).toHaveLength(TAGS + FILE_ENTRIES);
      expect(soakImages('diun_image_info')).toHaveLength(TAGS + FILE_ENTRIES);
      expect(soakImages('diun_image_update_available').filter((x) => x.value === 1)).toHaveLength(
        MOVED,
      );
      expect(checks.length).toBeGreaterThan(0);
      expect(checks.every((code) => code === 200 || code === 429)).toBe(true);

      const sorted = [...scrapeMs].sort((a, b) => a - b);
      const report = {
        containers: names.length,
        references: TAGS + FILE_ENTRIES,
        soakSeconds: SOAK_MS / 1000,
        recreated,
        triggeredChecks: checks.length,
        runs: find(s, 'diun_watch_runs_total')[0]?.value,
        skippedRuns: find(s, 'diun_watch_skipped_runs_total')[0]?.value,
        scrapes: sorted.length,
        scrapeMs: {
          median: Number(quantile(sorted, 0.5).toFixed(1)),
          p99: Number(quantile(sorted, 0.99).toFixed(1)),
          max: Number((sorted.at(-1) ?? 0).toFixed(1)),
        },
        // Every 100th scrape's view of the process, in MiB, first to last.
        memoryMiB: [...memorySeen, memory(s)],
      };
      const reports = resolve(import.meta.dirname, '..', '..', 'reports');
      mkdirSync(reports, { recursive: true });
      writeFileSync(join(reports, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
      console.log(`soak: ${JSON.stringify(report)}`);
    },
    120_000 + SOAK_MS,
  );
});
