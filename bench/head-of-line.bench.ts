import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExporterProcess } from '../test/support/exporter.js';
import type { Sample } from '../test/support/metrics-text.js';
import { checkNow, startListExporter, untilStartupCheck } from './support/bench-exporter.js';
import { type BenchRegistry, startBenchRegistry } from './support/bench-registry.js';
import {
  type CountingProxy,
  countKinds,
  type ProxiedRequest,
  startCountingProxy,
} from './support/counting-proxy.js';
import { machine, writeReport } from './support/report.js';
import { IDEAL_CONCURRENCY, median } from './support/run-report.js';

// No head-of-line blocking from one slow registry on the others. One real registry
// behind two counting proxies on different ports, which the exporter sees as two registry hosts:
// a slow one (2,000 ms a request, 20 references) and a fast one (20 ms, 200 references). When
// the fast registry's references finish (from the proxy's timestamps) is compared with the same
// references checked alone and with the ideal L x ceil(N / C). Counts are asserted, not times.

const SLOW = { refs: Number(process.env.BENCH_HOL_SLOW_REFS ?? 20), latencyMs: 2000 };
const FAST = { refs: Number(process.env.BENCH_HOL_FAST_REFS ?? 200), latencyMs: 20 };
const RUNS = 3;
const COMMAND = 'npx vitest run --config vitest.bench.config.ts bench/head-of-line.bench.ts';

const runSeconds = (s: Sample[]) =>
  s.find((x) => x.name === 'diun_watch_last_run_duration_seconds')?.value ?? Number.NaN;
const ideal = (r: { refs: number; latencyMs: number }) =>
  r.latencyMs * Math.ceil(r.refs / IDEAL_CONCURRENCY);

interface Run {
  /** From the POST to the fast registry's last HEAD answered, in ms. */
  fastDoneMs: number;
  /** From the POST to the moment half the fast HEADs were answered. */
  fastHalfMs: number;
  /** From the POST to the slow registry's last HEAD answered (NaN when it has none). */
  slowDoneMs: number;
  runMs: number;
  fastHeads: number;
  slowHeads: number;
  otherRequests: number;
}

interface Figures {
  scenario: string;
  withSlow: boolean;
  /** The start-up (cold) check: same figures, from its first request, tokens included. */
  cold: Run;
  steady: Run[];
}

describe('head-of-line blocking: a slow registry beside a fast one', () => {
  let bench: BenchRegistry;
  let slow: CountingProxy;
  const fast = () => bench.registryProxy;
  const results: Figures[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bench-hol-'));
  const fastRef = (i: number) => `${bench.host}/bench/fast-${i}:1.0`;
  const slowRef = (i: number) => `${slow.host}/bench/slow-${i}:1.0`;

  beforeAll(async () => {
    bench = await startBenchRegistry();
    await bench.fill(
      [
        ...Array.from({ length: FAST.refs }, (_, i) => `bench/fast-${i}`),
        ...Array.from({ length: SLOW.refs }, (_, i) => `bench/slow-${i}`),
      ],
      ['1.0'],
    );
    // The fast proxy and the token service's proxy wait 20 ms; the slow host is a second proxy.
    bench.setLatency(FAST.latencyMs);
    slow = await startCountingProxy(bench.registry.host, SLOW.latencyMs);
  });

  afterAll(async () => {
    await slow?.close();
    await bench?.stop();
    writeReport('bench-head-of-line', render(results), results);
  });

  it(`${FAST.refs} fast references alone`, { timeout: 600_000 }, async () => {
    results.push(await scenario(false));
  });

  it(`${FAST.refs} fast and ${SLOW.refs} slow references`, { timeout: 600_000 }, async () => {
    results.push(await scenario(true));
  });

  function figures(t0: number, fastReqs: ProxiedRequest[], slowReqs: ProxiedRequest[]): Run {
    const heads = (rs: ProxiedRequest[]) => rs.filter((r) => r.kind === 'manifestHead');
    const done = (rs: ProxiedRequest[]) => heads(rs).map((r) => r.doneMs - t0);
    const fastDone = done(fastReqs).sort((a, b) => a - b);
    const all = [...fastReqs, ...slowReqs];
    return {
      fastDoneMs: fastDone.at(-1) ?? Number.NaN,
      fastHalfMs: fastDone[Math.floor(fastDone.length / 2)] ?? Number.NaN,
      slowDoneMs: slowReqs.length ? Math.max(...done(slowReqs)) : Number.NaN,
      runMs: Number.NaN,
      fastHeads: heads(fastReqs).length,
      slowHeads: heads(slowReqs).length,
      otherRequests: all.length - heads(all).length,
    };
  }

  async function scenario(withSlow: boolean): Promise<Figures> {
    const refs = [
      ...(withSlow ? Array.from({ length: SLOW.refs }, (_, i) => slowRef(i)) : []),
      ...Array.from({ length: FAST.refs }, (_, i) => fastRef(i)),
    ];
    const total = refs.length;
    const fastMark = fast().requests.length;
    const slowMark = slow.requests.length;
    const list = join(dir, `images-${withSlow ? 'mixed' : 'fast'}.yml`);
    const exporter = await startListExporter(list, refs);
    try {
      // The start-up check of never-seen references is the cold run.
      await untilStartupCheck(exporter, total, 300_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const fastReqs = fast().requests.slice(fastMark);
      const slowReqs = slow.requests.slice(slowMark);
      const t0 = Math.min(...[...fastReqs, ...slowReqs].map((r) => r.arrivedMs));
      const cold = figures(t0, fastReqs, slowReqs);
      console.log(JSON.stringify({ withSlow, cold }));
      expect.soft(cold.fastHeads).toBe(FAST.refs);
      expect.soft(cold.slowHeads).toBe(withSlow ? SLOW.refs : 0);

      const steady: Run[] = [];
      for (let k = 0; k < RUNS; k++) steady.push(await steadyRun(exporter, withSlow, k));
      return {
        scenario: withSlow ? `${FAST.refs} fast + ${SLOW.refs} slow` : `${FAST.refs} fast alone`,
        withSlow,
        cold,
        steady,
      };
    } finally {
      await exporter.stop();
    }
  }

  async function steadyRun(exporter: ExporterProcess, withSlow: boolean, k: number) {
    const fastMark = fast().requests.length;
    const slowMark = slow.requests.length;
    const tokenMark = bench.tokenProxy.requests.length;
    const t0 = performance.now();
    await checkNow(exporter);
    const after = await exporter.scrape();
    const run = figures(t0, fast().requests.slice(fastMark), slow.requests.slice(slowMark));
    run.runMs = runSeconds(after) * 1000;
    console.log(JSON.stringify({ withSlow, k, ...run }));
    // Steady state on both hosts: one HEAD per reference, nothing else.
    expect.soft(run.fastHeads).toBe(FAST.refs);
    expect.soft(run.slowHeads).toBe(withSlow ? SLOW.refs : 0);
    expect.soft(run.otherRequests).toBe(0);
    expect.soft(countKinds(bench.tokenProxy.requests.slice(tokenMark)).token).toBe(0);
    return run;
  }
});

const ms = (v: number) =>
  Number.isNaN(v) ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
const spread = (values: number[]) =>
  `${ms(median(values))} (${ms(Math.min(...values))}–${ms(Math.max(...values))})`;

function render(results: Figures[]): string {
  const m = machine();
  const fastIdeal = ideal(FAST);
  const alone = results.find((r) => !r.withSlow);
  const aloneMedian = alone ? median(alone.steady.map((s) => s.fastDoneMs)) : Number.NaN;
  const lines = [
    `Command: \`${COMMAND}\` (after \`npm run build\`).`,
    `Run ${m.date} on ${m.nproc} CPU(s) (${m.cpu}), ${m.memory} RAM, Node ${m.node}.`,
    '',
    `Fast registry: ${FAST.refs} references at ${FAST.latencyMs} ms a request, ideal alone L×⌈N/${IDEAL_CONCURRENCY}⌉ = ${ms(fastIdeal)}. Slow registry: ${SLOW.refs} references at ${SLOW.latencyMs} ms, ideal ${ms(ideal(SLOW))}. \`watch.workers\` 10, no regopt (an adaptive limit per registry, from 4 up to 10; while both have work, each gets at most 5 of the workers). Times are from the \`POST /api/v1/check\` (cold: from the first request) to the last manifest HEAD answered at each proxy; steady: median (min–max) of ${RUNS} runs.`,
    '',
    '| scenario | run | fast: half done | fast: all done | fast ÷ ideal | fast ÷ fast alone | slow: all done | run time | HEADs fast / slow |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const row = (label: string, runs: Run[]) => {
      const fastDone = median(runs.map((s) => s.fastDoneMs));
      lines.push(
        `| ${r.scenario} | ${label} | ${spread(runs.map((s) => s.fastHalfMs))} | ${spread(runs.map((s) => s.fastDoneMs))} | ${(fastDone / fastIdeal).toFixed(2)} | ${label === 'cold' ? '-' : (fastDone / aloneMedian).toFixed(2)} | ${r.withSlow ? spread(runs.map((s) => s.slowDoneMs)) : '-'} | ${label === 'cold' ? '-' : spread(runs.map((s) => s.runMs))} | ${runs[0]!.fastHeads} / ${runs[0]!.slowHeads} |`,
      );
    };
    row('cold', [r.cold]);
    row(`steady ×${r.steady.length}`, r.steady);
  }
  return `${lines.join('\n')}\n`;
}
