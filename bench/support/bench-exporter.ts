import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { type ExporterProcess, startExporter } from '../../test/support/exporter.js';
import { metricCounts } from './requests.js';

/**
 * The built exporter on a file provider listing `refs`, written to `list` first, as the benches
 * run it: no schedule and no check at start, so that the start-up check of never-seen references
 * is the cold run, and 10 workers.
 */
export function startListExporter(
  list: string,
  refs: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ExporterProcess> {
  writeFileSync(list, refs.map((ref) => `- name: ${ref}\n`).join(''));
  return startExporter(
    {
      watch: { schedule: '', runOnStartup: false, workers: 10 },
      providers: { file: { filename: list } },
    },
    { env },
  );
}

/** Waits until the exporter's start-up check has sent `n` manifest HEADs. */
export function untilStartupCheck(
  exporter: ExporterProcess,
  n: number,
  timeoutMs: number,
): Promise<unknown> {
  return exporter.until(
    (s) => metricCounts(s).manifestHead >= n,
    `${n} HEADs of the start-up check`,
    timeoutMs,
  );
}

/**
 * Runs a check now (POST /api/v1/check) and expects a 200; resolves to the time from the request
 * to the answer, in ms, and the run's summary (the answer's JSON).
 */
export async function checkNow(
  exporter: ExporterProcess,
): Promise<{ wallMs: number; summary: { outdated: string[] } }> {
  const started = performance.now();
  const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
  const wallMs = performance.now() - started;
  expect(res.status).toBe(200);
  return { wallMs, summary: (await res.json()) as { outdated: string[] } };
}
