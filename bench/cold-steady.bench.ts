import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPE_BATCH_LIMITS } from '../src/registry/auth.js';
import { INITIAL_LIMIT } from '../src/registry/limiter.js';
import type { Sample } from '../test/support/metrics-text.js';
import { checkNow, startListExporter, untilStartupCheck } from './support/bench-exporter.js';
import {
  type BenchRegistry,
  countSince,
  quiet,
  startBenchRegistry,
} from './support/bench-registry.js';
import { diffCounts, spanMs } from './support/counting-proxy.js';
import { machine, writeReport } from './support/report.js';
import { metricCounts, rss } from './support/requests.js';
import {
  type ColdSteady,
  renderColdSteady,
  renderRunTimeSvg,
  type SteadyRun,
} from './support/run-report.js';

// Cold and steady runs over N unique references (one repository each) behind a proxy
// adding L ms per request, anonymous Bearer tokens per repository. Request counts are asserted;
// times are only reported.

// BENCH_SIZES=50 gives the small version (.ci/run); the default is the full set.
const SIZES = (process.env.BENCH_SIZES ?? '50,500,5000').split(',').map(Number);
// 50 ms is the latency of the comparison with What's Up Docker in docs/benchmarks.md.
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,20,50,100').split(',').map(Number);
// 5,000 references at 100 ms take about a minute a run (more with the cold run and 3 steady
// runs), and at 50 ms half that: left out by default to keep `npm run bench` short.
// BENCH_SKIP= (empty) runs them: `BENCH_SIZES=5000 BENCH_LATENCIES=100 BENCH_SKIP= npx ...`.
const SKIP = new Set((process.env.BENCH_SKIP ?? '5000@50,5000@100').split(',').filter(Boolean));
const STEADY_RUNS = 3;

const cpu = (s: Sample[]) => s.find((x) => x.name === 'process_cpu_seconds_total')?.value ?? 0;
const runSeconds = (s: Sample[]) =>
  s.find((x) => x.name === 'diun_watch_last_run_duration_seconds')?.value ?? Number.NaN;
const concurrencyLimit = (s: Sample[]) =>
  s.find((x) => x.name === 'diun_registry_concurrency_limit')?.value ?? Number.NaN;

describe('cold and steady runs against a registry with latency', () => {
  let bench: BenchRegistry;
  const results: ColdSteady[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bench-cold-steady-'));

  beforeAll(async () => {
    bench = await startBenchRegistry();
    const max = Math.max(...SIZES);
    const started = performance.now();
    await bench.fill(
      Array.from({ length: max }, (_, i) => `bench/app-${i}`),
      ['1.0'],
    );
    console.log(`filled ${max} repositories in ${Math.round(performance.now() - started)} ms`);
  });

  afterAll(async () => {
    await bench?.stop();
    const report = renderColdSteady(machine(), results);
    writeReport('benchmarks-cold-steady', report, results);
    const svg = renderRunTimeSvg(results);
    writeFileSync('reports/benchmarks-run-time.svg', svg);
    // Only a full run replaces the chart in docs/.
    if (new Set(results.map((r) => r.n)).size > 1)
      writeFileSync('docs/benchmarks-run-time.svg', svg);
  });

  for (const n of SIZES) {
    for (const latency of LATENCIES) {
      if (SKIP.has(`${n}@${latency}`)) continue;
      it(`${n} references at ${latency} ms`, { timeout: 900_000 }, async () => {
        results.push(await scenario(n, latency));
      });
    }
  }

  async function scenario(n: number, latency: number): Promise<ColdSteady> {
    bench.setLatency(latency);
    const refs = Array.from({ length: n }, (_, i) => `${bench.host}/bench/app-${i}:1.0`);
    // A fresh process: no state, no tokens, and its own budget of 10 POSTed checks a minute.
    const coldMark = bench.mark();
    const exporter = await startListExporter(join(dir, `images-${n}.yml`), refs);
    try {
      // With runOnStartup false the exporter still checks every never-seen reference at start:
      // that is the cold run (no state, no token), timed at the proxies. The limit starts at 4
      // in a fresh process, so the wait allows for 4 in flight.
      const waitMs = 120_000 + (latency * 4 * n) / INITIAL_LIMIT;
      await untilStartupCheck(exporter, n, waitMs);
      await quiet(bench, 500 + 2 * latency);
      const cold = {
        log: countSince(bench, coldMark),
        metric: metricCounts(await exporter.scrape()),
        ms: spanMs(bench.since(coldMark)),
      };
      expect.soft(cold.log.manifestHead).toBe(n);
      expect.soft(cold.metric.manifestHead).toBe(n);
      // Scopes batched: one token request per 50 repositories, not one per repository.
      expect.soft(cold.log.token).toBeLessThanOrEqual(Math.ceil(n / SCOPE_BATCH_LIMITS.maxScopes));

      const steady: SteadyRun[] = [];
      for (let k = 0; k < STEADY_RUNS; k++) {
        const mark = bench.mark();
        const connections = bench.registryProxy.connections;
        const before = await exporter.scrape();
        const { wallMs } = await checkNow(exporter);
        const after = await exporter.scrape();
        const run: SteadyRun = {
          log: countSince(bench, mark),
          metric: diffCounts(metricCounts(after), metricCounts(before)),
          wallMs,
          runMs: runSeconds(after) * 1000,
          cpuSeconds: cpu(after) - cpu(before),
          rssBytes: rss(after),
          connections: bench.registryProxy.connections - connections,
          limit: concurrencyLimit(after),
        };
        console.log(JSON.stringify({ n, latency, k, ...run }));
        // Steady state: one HEAD per unique reference and nothing else.
        expect.soft(run.log.manifestHead).toBe(n);
        expect.soft(run.metric.manifestHead).toBe(n);
        expect.soft(run.log.manifestGet).toBe(0);
        expect.soft(run.log.token).toBe(0);
        expect.soft(run.log.blob).toBe(0);
        expect.soft(run.log.ping + run.log.tags + run.log.other).toBe(0);
        steady.push(run);
      }
      return { n, latencyMs: latency, cold, steady };
    } finally {
      await exporter.stop();
    }
  }
});
