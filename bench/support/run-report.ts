import type { Machine } from './report.js';
import type { Counts } from './requests.js';

/**
 * C in the ideal L x ceil(N / C): `watch.workers` (10), the most the adaptive per-registry limit
 * reaches with no regopt `maxConcurrent`, since every reference here is on one registry.
 */
export const IDEAL_CONCURRENCY = 10;

export interface SteadyRun {
  /** At the proxies (registry and token service). */
  log: Counts;
  /** `diun_registry_requests_total`, difference across the run. */
  metric: Counts;
  /** POST /api/v1/check, request to answer. */
  wallMs: number;
  /** `diun_watch_last_run_duration_seconds`. */
  runMs: number;
  /** `process_cpu_seconds_total`, difference across the run (scrapes included). */
  cpuSeconds: number;
  rssBytes: number;
  /** TCP connections the exporter opened to the registry proxy during the run. */
  connections: number;
  /** `diun_registry_concurrency_limit` after the run. */
  limit: number;
}

export interface ColdSteady {
  n: number;
  latencyMs: number;
  /** The start-up check of a fresh process: proxy counts, metric totals, first to last request. */
  cold: { log: Counts; metric: Counts; ms: number };
  steady: SteadyRun[];
}

/** L x ceil(N / C), in ms. */
export function idealMs(n: number, latencyMs: number): number {
  return latencyMs * Math.ceil(n / IDEAL_CONCURRENCY);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The value at quantile `q` (0..1), nearest rank. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const total = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);
const kinds = (c: Counts) =>
  `${c.ping} / ${c.token} / ${c.manifestHead} / ${c.manifestGet} / ${c.blob} / ${c.tags + c.other}`;

/** The steady run time median of a scenario. */
export function steadyMedianMs(r: ColdSteady): number {
  return median(r.steady.map((s) => s.runMs));
}

const IDEAL = `ideal L×⌈N/${IDEAL_CONCURRENCY}⌉`;

/** Markdown: one row per (N, latency) for the cold run and the steady runs. */
export function renderColdSteady(m: Machine, results: ColdSteady[]): string {
  const lines = [
    `Run ${m.date} on ${m.nproc} CPU(s) (${m.cpu}), ${m.memory} RAM, Node ${m.node}.`,
    '',
    'Requests: ping / token / manifest HEAD / manifest GET / blob / other, counted at the proxies.',
    '',
    `| N | L | cold requests | cold req/ref | cold time | steady requests (each run) | steady req/ref | steady run time median (min–max) | ${IDEAL} | ratio | CPU s per 1,000 refs | RSS | new connections per steady run | concurrency limit after each steady run |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const runs = r.steady.map((s) => s.runMs);
    const med = median(runs);
    const ideal = idealMs(r.n, r.latencyMs);
    const same = r.steady.every((s) => kinds(s.log) === kinds(r.steady[0]!.log));
    const cpu = median(r.steady.map((s) => s.cpuSeconds)) / (r.n / 1000);
    lines.push(
      `| ${r.n} | ${r.latencyMs} ms | ${kinds(r.cold.log)} | ${(total(r.cold.log) / r.n).toFixed(2)} | ${ms(r.cold.ms)} | ${same ? kinds(r.steady[0]!.log) : r.steady.map((s) => kinds(s.log)).join('; ')} | ${(total(r.steady[0]!.log) / r.n).toFixed(2)} | ${ms(med)} (${ms(Math.min(...runs))}–${ms(Math.max(...runs))}) | ${ideal ? ms(ideal) : '-'} | ${ideal ? (med / ideal).toFixed(2) : '-'} | ${cpu.toFixed(2)} | ${(r.steady.at(-1)!.rssBytes / 2 ** 20).toFixed(0)} MiB | ${median(r.steady.map((s) => s.connections))} | ${r.steady.map((s) => s.limit).join(', ')} |`,
    );
  }
  lines.push(...besideWud(results));
  return `${lines.join('\n')}\n`;
}

// What's Up Docker 8.3.1 with its default settings, measured once on this kind of machine with
// the same shape (real dockerd and registry behind a proxy adding 50 ms a request, 50 unique
// images tagged latest, one container each, best of 3 steady runs). It is not re-run here: it
// needs WUD's image, which this machine cannot pull.
const WUD = { n: 50, latencyMs: 50, bestMs: 442, requests: 250, manifestGets: 100 };

/** The side-by-side rows with What's Up Docker, when this run measured the same shape. */
function besideWud(results: ColdSteady[]): string[] {
  const r = results.find((x) => x.n === WUD.n && x.latencyMs === WUD.latencyMs);
  if (!r) return [];
  const runs = r.steady.map((s) => s.runMs);
  const requests = [...new Set(r.steady.map((s) => total(s.log)))].join(', ');
  const gets = [...new Set(r.steady.map((s) => s.log.manifestGet))].join(', ');
  return [
    '',
    `Beside What's Up Docker, ${WUD.n} references at ${WUD.latencyMs} ms, steady runs, default settings of each:`,
    '',
    '| tool | steady run, best of 3 | median | requests per run | of them manifest GETs (pulls on Docker Hub) |',
    '|---|---|---|---|---|',
    `| What's Up Docker 8.3.1 (measured once, not re-run) | ${ms(WUD.bestMs)} | - | ${WUD.requests} | ${WUD.manifestGets} |`,
    `| diun-exporter (this run) | ${ms(Math.min(...runs))} | ${ms(median(runs))} | ${requests} | ${gets} |`,
  ];
}

const COLORS: Record<number, string> = { 0: '#6b7280', 20: '#2563eb', 100: '#dc2626' };

/**
 * An SVG chart, log-log: steady run time (median) against N for each latency, and for each
 * latency above 0 the ideal L x ceil(N / C) as a dashed line. Written by hand: no dependency.
 */
export function renderRunTimeSvg(results: ColdSteady[]): string {
  const width = 720;
  const height = 440;
  const pad = { left: 70, right: 170, top: 40, bottom: 50 };
  const ns = results.map((r) => r.n);
  const values = results.flatMap((r) => [steadyMedianMs(r), idealMs(r.n, r.latencyMs)]);
  const positive = values.filter((v) => v > 0);
  const xMin = Math.log10(Math.min(...ns)) - 0.1;
  const xMax = Math.log10(Math.max(...ns)) + 0.1;
  const yMin = Math.floor(Math.log10(Math.min(...positive)));
  const yMax = Math.ceil(Math.log10(Math.max(...positive)));
  const x = (n: number) =>
    pad.left + ((Math.log10(n) - xMin) / (xMax - xMin)) * (width - pad.left - pad.right);
  const y = (v: number) =>
    height -
    pad.bottom -
    ((Math.log10(v) - yMin) / (yMax - yMin || 1)) * (height - pad.top - pad.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${pad.left}" y="22" font-size="14">Steady-state run time against unique references (median of 3, log-log)</text>`,
  ];
  for (let e = yMin; e <= yMax; e++) {
    const v = 10 ** e;
    out.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`,
      `<text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`,
    );
  }
  for (const n of [...new Set(ns)]) {
    out.push(
      `<line x1="${x(n)}" x2="${x(n)}" y1="${pad.top}" y2="${height - pad.bottom}" stroke="#e5e7eb"/>`,
      `<text x="${x(n)}" y="${height - pad.bottom + 16}" text-anchor="middle">${n}</text>`,
    );
  }
  out.push(
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 12}" text-anchor="middle">N (unique references)</text>`,
  );
  const latencies = [...new Set(results.map((r) => r.latencyMs))].sort((a, b) => a - b);
  latencies.forEach((l, i) => {
    const color = COLORS[l] ?? '#059669';
    const rows = results.filter((r) => r.latencyMs === l).sort((a, b) => a.n - b.n);
    const measured = rows.map((r) => `${x(r.n)},${y(steadyMedianMs(r))}`).join(' ');
    out.push(`<polyline points="${measured}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const r of rows) {
      out.push(`<circle cx="${x(r.n)}" cy="${y(steadyMedianMs(r))}" r="3.5" fill="${color}"/>`);
    }
    if (l > 0) {
      const ideal = rows.map((r) => `${x(r.n)},${y(idealMs(r.n, l))}`).join(' ');
      out.push(
        `<polyline points="${ideal}" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="5,4"/>`,
      );
    }
    const ly = pad.top + 10 + i * 40;
    const lx = width - pad.right + 15;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly + 4}">measured, L = ${l} ms</text>`,
    );
    if (l > 0) {
      out.push(
        `<line x1="${lx}" x2="${lx + 24}" y1="${ly + 16}" y2="${ly + 16}" stroke="${color}" stroke-dasharray="5,4"/>`,
        `<text x="${lx + 30}" y="${ly + 20}">${IDEAL}</text>`,
      );
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
