import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Counts } from './requests.js';

export interface RunFigures {
  label: string;
  /** From the registry's access log (requests with the exporter's User-Agent). */
  log: Counts;
  /** From the exporter's `diun_registry_requests_total`. */
  metric: Counts;
  /** POST /api/v1/check, request to response. */
  wallMs: number;
  /** `diun_watch_last_run_duration_seconds`, in ms. */
  runMs: number | undefined;
  outdated: number;
  rssBytes: number;
  /** How many references got 1, 2, ... manifest HEADs in this run, e.g. `{ "1": 60 }`. */
  headsPerReference: Record<string, number>;
}

export interface Scenario {
  images: number;
  containers: number;
  runs: RunFigures[];
  /** RSS after the scenario's last run. */
  rssBytes: number;
}

export interface Machine {
  date: string;
  nproc: number;
  memory: string;
  node: string;
  cpu: string;
}

export function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    cpu,
  };
}

/**
 * Writes a bench's report to reports/NAME.md, and its figures, when given, to reports/NAME.json;
 * prints the report.
 */
export function writeReport(name: string, markdown: string, figures?: unknown): void {
  mkdirSync('reports', { recursive: true });
  writeFileSync(`reports/${name}.md`, markdown);
  if (figures !== undefined) {
    writeFileSync(`reports/${name}.json`, JSON.stringify(figures, null, 2));
  }
  console.log(`\n${markdown}`);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`);
const pair = (log: number, metric: number) =>
  log === metric ? `${log}` : `${log} (metric ${metric})`;

/** Markdown tables, one per scenario: requests by kind (access log; metric when it differs). */
export function renderReport(m: Machine, scenarios: Scenario[], extra: { publishSmallMs: number }) {
  const lines = [
    `Run ${m.date} on ${m.nproc} CPU(s) (${m.cpu}), ${m.memory} RAM, Node ${m.node}.`,
    `Publishing the first 60 images (import, push, pull, run) took ${ms(extra.publishSmallMs)}.`,
    '',
  ];
  for (const s of scenarios) {
    lines.push(
      `### ${s.images} unique images, ${s.containers} containers`,
      '',
      '| run | ping | token | manifest HEAD | manifest GET | blob | other | outdated | POST duration | run duration | RSS after | refs by HEADs each |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of s.runs) {
      lines.push(
        `| ${r.label} | ${pair(r.log.ping, r.metric.ping)} | ${pair(r.log.token, r.metric.token)} | ${pair(r.log.manifestHead, r.metric.manifestHead)} | ${pair(r.log.manifestGet, r.metric.manifestGet)} | ${pair(r.log.blob, r.metric.blob)} | ${r.log.other + r.log.tags} | ${Number.isNaN(r.outdated) ? '-' : r.outdated} | ${ms(r.wallMs)} | ${ms(r.runMs)} | ${mib(r.rssBytes)} | ${Object.entries(
          r.headsPerReference,
        )
          .map(([n, refs]) => `${refs}×${n}`)
          .join(', ')} |`,
      );
    }
    lines.push('', `RSS after the runs: ${mib(s.rssBytes)}.`, '');
  }
  return `${lines.join('\n')}\n`;
}
