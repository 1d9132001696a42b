import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../test/support/dockerd.js';
import { type ExporterProcess, startExporter } from '../test/support/exporter.js';
import { publish, runContainer } from '../test/support/images.js';
import { type Registry, startRegistry } from '../test/support/registry.js';
import { checkNow } from './support/bench-exporter.js';
import {
  machine,
  type RunFigures,
  renderReport,
  type Scenario,
  writeReport,
} from './support/report.js';
import {
  accessLogCounts,
  type Counts,
  headsPerReference,
  metricCounts,
  pool,
  rss,
} from './support/requests.js';

// What one run costs the registry (requests by kind) and how long it takes, cold and
// steady, for many unique images, plus the exporter's RSS. No timing is asserted; request counts
// are, so a regression in "one HEAD per unique reference" fails the bench.

const SMALL = 60;
const LARGE = 200;
const MOVED = 5;
// The 200-image scenario runs only when publishing the first 60 took at most this long, so the
// whole bench stays near three minutes on a slow machine.
const LARGE_BUDGET_MS = Number(process.env.BENCH_LARGE_BUDGET_MS ?? 60_000);

const dockerd = fileDockerd();

describe('registry cost of one run', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const containers: string[] = [];
  const scenarios: Scenario[] = [];
  let registry: Registry;
  let exporter: ExporterProcess | undefined;
  let publishSmallMs = 0;
  // Tags pushed anew while their containers still run the old image.
  let moved = 0;

  const ref = (i: number) => `${registry.host}/team/app-${i}:1.0`;

  async function publishRange(from: number, to: number) {
    const started = Date.now();
    const indexes = Array.from({ length: to - from }, (_, k) => from + k);
    await pool(indexes, 6, async (i) => {
      await publish(docker, ref(i), `v1 ${i} ${suffix}`);
      const name = `bench-${suffix}-${i}`;
      await runContainer(docker, ref(i), name);
      containers.push(name);
    });
    return Date.now() - started;
  }

  async function measuredRun(label: string): Promise<RunFigures> {
    const e = exporter!;
    const logBefore = accessLogCounts(registry);
    const logLinesBefore = registry.requestLines({ userAgent: 'diun-exporter' }).length;
    const metricBefore = metricCounts(await e.scrape());
    const { wallMs, summary } = await checkNow(e);
    const after = await e.scrape();
    const runSeconds = after.find((s) => s.name === 'diun_watch_last_run_duration_seconds')?.value;
    const figures: RunFigures = {
      label,
      log: diff(accessLogCounts(registry), logBefore),
      metric: diff(metricCounts(after), metricBefore),
      wallMs,
      runMs: runSeconds === undefined ? undefined : runSeconds * 1000,
      outdated: summary.outdated.length,
      rssBytes: rss(after),
      headsPerReference: headsPerReference(registry, logLinesBefore),
    };
    console.log(JSON.stringify(figures));
    return figures;
  }

  async function startOurExporter() {
    exporter = await startExporter({
      // No schedule and no run at startup: every run is a measured POST /api/v1/check.
      watch: { schedule: '', runOnStartup: false, workers: 10 },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
    });
  }

  async function scenario(images: number, withMove: boolean): Promise<Scenario> {
    // At start, with runOnStartup false, the exporter still checks every reference it has never
    // seen (Watcher.refresh): that is measured as its own row, until it has HEADed each one.
    await exporter?.stop();
    exporter = undefined;
    const logBefore = accessLogCounts(registry);
    const linesBefore = registry.requestLines({ userAgent: 'diun-exporter' }).length;
    const started = performance.now();
    await startOurExporter();
    const afterStart = await exporter!.until(
      (s) => metricCounts(s).manifestHead >= images,
      'the start-up check of never-seen references',
      120_000,
    );
    const startup: RunFigures = {
      label: 'start-up check (no POST; process start included)',
      log: diff(accessLogCounts(registry), logBefore),
      metric: metricCounts(afterStart),
      wallMs: performance.now() - started,
      runMs: undefined,
      outdated: Number.NaN,
      rssBytes: rss(afterStart),
      headsPerReference: headsPerReference(registry, linesBefore),
    };
    console.log(JSON.stringify(startup));
    const runs: RunFigures[] = [startup];
    expect.soft(startup.log.manifestHead).toBe(images);
    const cold = await measuredRun('first POST run');
    runs.push(cold);
    // The first full run: once per unique reference.
    expect.soft(cold.log.manifestHead).toBe(images);
    for (let n = 1; n <= 3; n++) {
      const steady = await measuredRun(`steady ${n}`);
      runs.push(steady);
      // Steady state: one HEAD per unique reference and nothing else that Docker Hub would count.
      expect.soft(steady.log.manifestHead).toBe(images);
      expect.soft(steady.metric.manifestHead).toBe(images);
      expect.soft(steady.log.manifestGet).toBe(0);
      expect.soft(steady.log.blob).toBe(0);
      expect.soft(steady.outdated).toBe(moved);
    }
    if (withMove) {
      for (let i = 0; i < MOVED; i++) await publish(docker, ref(i), `v2 ${i} ${suffix}`);
      moved = MOVED;
      const afterMove = await measuredRun(`after ${MOVED} tags moved`);
      runs.push(afterMove);
      expect.soft(afterMove.log.manifestHead).toBe(images);
      expect.soft(afterMove.log.manifestGet).toBeLessThanOrEqual(MOVED);
      expect.soft(afterMove.outdated).toBe(MOVED);
      const settled = await measuredRun('steady after the move');
      runs.push(settled);
      expect.soft(settled.log.manifestHead).toBe(images);
      expect.soft(settled.log.manifestGet).toBe(0);
    }
    const rssBytes = rss(await exporter!.scrape());
    return { images, containers: images, runs, rssBytes };
  }

  beforeAll(async () => {
    registry = await startRegistry();
    publishSmallMs = await publishRange(0, SMALL);
  });

  afterAll(async () => {
    await exporter?.stop();
    for (let i = 0; i < containers.length; i += 50) {
      await docker(['rm', '-f', ...containers.slice(i, i + 50)]).catch(() => undefined);
    }
    await registry?.stop();
    writeReport('benchmarks', renderReport(machine(), scenarios, { publishSmallMs }));
  });

  it(`${SMALL} unique images: cold, steady, ${MOVED} tags moved`, async () => {
    scenarios.push(await scenario(SMALL, true));
  });

  it(`${LARGE} unique images: cold and steady (when it fits the time budget)`, async (ctx) => {
    if (publishSmallMs > LARGE_BUDGET_MS) {
      console.log(`publishing ${SMALL} images took ${publishSmallMs} ms: ${LARGE} skipped`);
      ctx.skip();
    }
    await publishRange(SMALL, LARGE);
    scenarios.push(await scenario(LARGE, false));
  });
});

function diff(after: Counts, before: Counts): Counts {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof Counts)[]) out[k] = after[k] - before[k];
  return out;
}
