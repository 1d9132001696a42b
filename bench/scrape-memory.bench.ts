import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopWithProcess, terminate } from '../test/support/exec.js';
import type { Sample } from '../test/support/metrics-text.js';
import { checkNow, startListExporter, untilStartupCheck } from './support/bench-exporter.js';
import {
  type BenchRegistry,
  countSince,
  quiet,
  startBenchRegistry,
} from './support/bench-registry.js';
import { machine, writeReport } from './support/report.js';
import { rss } from './support/requests.js';
import { median, quantile } from './support/run-report.js';

// /metrics scrape time and RSS with 1,000 and 10,000 images in the snapshot, CPU of one
// steady run, and the time from spawn to /-/ready on a restart with 10,000 images in the state
// file. The images are tags of a few repositories (cheap to push); latency 0. Request counts are
// asserted, times are only reported.

const SIZES = (process.env.BENCH_SNAPSHOT_SIZES ?? '1000,10000').split(',').map(Number);
const REPOS = 10;
const SCRAPES = 200;
const CLIENT_SCRAPES = 50;
// Then scrapes at Prometheus' pace, 15 s apart: how much the process gives back once it is quiet
// (V8 shrinks its young generation and old space only when little is being allocated).
const PACED_SCRAPES = Number(process.env.BENCH_PACED_SCRAPES ?? 4);
const PACE_MS = 15_000;
// V8 flags for the exporter alone, e.g. BENCH_EXPORTER_NODE_OPTIONS=--max-old-space-size=96 to see
// how much of the RSS is heap the collector has not given back, or
// `--import ./bench/support/allocation-profile.mjs` for what the steady run allocates and where,
// `--import ./bench/support/promoted-profile.mjs` for what start-up and the cold run promote to
// V8's old space (what grows the heap).
const EXPORTER_NODE_OPTIONS = process.env.BENCH_EXPORTER_NODE_OPTIONS;
const cli = resolve(import.meta.dirname, '..', 'dist', 'cli.js');

interface SnapshotFigures {
  images: number;
  startupCheckMs: number;
  scrapeMedianMs: number;
  scrapeP99Ms: number;
  scrapeBytes: number;
  /** Bytes on the wire per scrape, gzip-encoded. */
  wireBytes: number;
  /** Fetch, gunzip and decode to a string, as a client pays it. */
  clientMedianMs: number;
  clientP99Ms: number;
  rssBytes: number;
  /** Of the RSS right after the scrapes: pages of mapped files (the node binary, libraries). */
  fileBackedBytes: number;
  /** The most RSS the process had until then (VmHWM): what a memory limit must allow. */
  peakRssBytes: number;
  /** RSS at the last of the scrapes 15 s apart that follow. */
  pacedRssBytes: number;
  steadyRunMs: number;
  steadyCpuSecondsPer1000: number;
  stateFileBytes: number;
  /** Spawn to /-/healthy and to /-/ready 200, on a restart from the state file. */
  restartHealthyMs: number;
  restartReadyMs: number;
  restartRssBytes: number;
}

const value = (s: Sample[], name: string) => s.find((x) => x.name === name)?.value ?? Number.NaN;

/**
 * A process's resident memory split as the kernel counts it (/proc/PID/smaps_rollup): pages of
 * mapped files (the node binary's code and ICU data, shared libraries) and anonymous pages (the
 * V8 heap, malloc's arenas, thread stacks).
 */
function residentSplit(pid: number | undefined): { fileBacked: number; anonymous: number } {
  const text = pid === undefined ? '' : readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return { fileBacked: (kib('Rss') - kib('Anonymous')) * 1024, anonymous: kib('Anonymous') * 1024 };
}

/** The most RSS the process has had since it started (VmHWM in /proc/PID/status). */
function peakResident(pid: number | undefined): number {
  const text = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(text)?.[1]) * 1024;
}

describe('scrape cost, memory and restart with large snapshots', () => {
  let bench: BenchRegistry;
  const dir = mkdtempSync(join(tmpdir(), 'bench-snapshot-'));
  const results: SnapshotFigures[] = [];
  const perRepo = Math.ceil(Math.max(...SIZES) / REPOS);
  const ref = (i: number) =>
    `${bench.host}/bench/many-${i % REPOS}:t-${Math.floor(i / REPOS) % perRepo}`;

  beforeAll(async () => {
    bench = await startBenchRegistry();
    const started = performance.now();
    await bench.fill(
      Array.from({ length: REPOS }, (_, r) => `bench/many-${r}`),
      Array.from({ length: perRepo }, (_, t) => `t-${t}`),
    );
    console.log(`filled ${REPOS}×${perRepo} tags in ${Math.round(performance.now() - started)} ms`);
  });

  afterAll(async () => {
    await bench?.stop();
    const m = machine();
    const lines = [
      `Run ${m.date} on ${m.nproc} CPU(s) (${m.cpu}), ${m.memory} RAM, Node ${m.node}.`,
      '',
      '| images | start-up check | scrape median | scrape p99 | on the wire (gzip) | text | client: fetch + decode, median (p99) | RSS | of it: files / anonymous | peak RSS until then | RSS, scrapes 15 s apart | steady run | CPU s per 1,000 refs | state file | restart: spawn to healthy | spawn to ready | RSS after restart |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.images} | ${(r.startupCheckMs / 1000).toFixed(1)} s | ${r.scrapeMedianMs.toFixed(1)} ms | ${r.scrapeP99Ms.toFixed(1)} ms | ${(r.wireBytes / 2 ** 20).toFixed(2)} MiB | ${(r.scrapeBytes / 2 ** 20).toFixed(1)} MiB | ${r.clientMedianMs.toFixed(1)} ms (${r.clientP99Ms.toFixed(1)} ms) | ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB | ${(r.fileBackedBytes / 2 ** 20).toFixed(0)} / ${((r.rssBytes - r.fileBackedBytes) / 2 ** 20).toFixed(0)} MiB | ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB | ${(r.pacedRssBytes / 2 ** 20).toFixed(0)} MiB after ${PACED_SCRAPES} | ${Math.round(r.steadyRunMs)} ms | ${r.steadyCpuSecondsPer1000.toFixed(2)} | ${(r.stateFileBytes / 2 ** 20).toFixed(1)} MiB | ${Math.round(r.restartHealthyMs)} ms | ${Math.round(r.restartReadyMs)} ms | ${(r.restartRssBytes / 2 ** 20).toFixed(0)} MiB |`,
      ),
    ];
    writeReport('benchmarks-snapshot', `${lines.join('\n')}\n`, results);
  });

  for (const size of SIZES) {
    it(`${size} images`, { timeout: 900_000 }, async () => {
      results.push(await snapshot(size));
    });
  }

  async function snapshot(images: number): Promise<SnapshotFigures> {
    bench.setLatency(0);
    const refs = Array.from({ length: images }, (_, i) => ref(i));
    const coldMark = bench.mark();
    const started = performance.now();
    const exporter = await startListExporter(
      join(dir, `images-${images}.yml`),
      refs,
      EXPORTER_NODE_OPTIONS ? { NODE_OPTIONS: EXPORTER_NODE_OPTIONS } : {},
    );
    try {
      await untilStartupCheck(exporter, images, 600_000);
      await quiet(bench, 500);
      const startupCheckMs = performance.now() - started;
      expect.soft(countSince(bench, coldMark).manifestHead).toBe(images);

      // As Prometheus scrapes: gzip asked for, timed to the last byte of the body as sent.
      const times: number[] = [];
      let wireBytes = 0;
      for (let k = 0; k < SCRAPES; k++) {
        const t0 = performance.now();
        const res = await request(`${exporter.url}/metrics`, {
          headers: { 'accept-encoding': 'gzip' },
        });
        const body = Buffer.from(await res.body.arrayBuffer());
        times.push(performance.now() - t0);
        expect(res.statusCode).toBe(200);
        wireBytes = body.length;
      }
      // What a client that also decodes the text pays (Node's fetch: gunzip and UTF-8).
      const decoded: number[] = [];
      let scrapeBytes = 0;
      for (let k = 0; k < CLIENT_SCRAPES; k++) {
        const t0 = performance.now();
        const text = await exporter.scrapeText();
        decoded.push(performance.now() - t0);
        scrapeBytes = text.length;
      }
      const afterScrapes = await exporter.scrape();
      const split = residentSplit(exporter.pid());
      const peakRssBytes = peakResident(exporter.pid());
      const mib = (name: string) => `${(value(afterScrapes, name) / 2 ** 20).toFixed(0)} MiB`;
      console.log(
        `${images} images, after the scrapes: RSS ${mib('process_resident_memory_bytes')} (mapped files ${(split.fileBacked / 2 ** 20).toFixed(1)} MiB, anonymous ${(split.anonymous / 2 ** 20).toFixed(1)} MiB), heap used ${mib('nodejs_heap_size_used_bytes')} of ${mib('nodejs_heap_size_total_bytes')}, external ${mib('nodejs_external_memory_bytes')}`,
      );
      expect
        .soft(afterScrapes.filter((s) => s.name === 'diun_image_update_available').length)
        .toBe(images);

      let paced = afterScrapes;
      for (let k = 0; k < PACED_SCRAPES; k++) {
        await new Promise((r) => setTimeout(r, PACE_MS));
        paced = await exporter.scrape();
      }

      const mark = bench.mark();
      const before = await exporter.scrape();
      await checkNow(exporter);
      const after = await exporter.scrape();
      const steady = countSince(bench, mark);
      expect.soft(steady.manifestHead).toBe(images);
      expect.soft(steady.manifestGet + steady.token + steady.blob).toBe(0);
      const cpu =
        value(after, 'process_cpu_seconds_total') - value(before, 'process_cpu_seconds_total');

      // Restart on the same state file: time from spawn to /-/ready answering 200.
      await exporter.kill('SIGTERM');
      const stateFileBytes = statSync(exporter.statePath).size;
      const restartMark = bench.mark();
      const restart = await timeRestart(exporter.configFile, exporter.url);
      const restored = await (await fetch(`${exporter.url}/metrics`)).text();
      await terminate(restart.child, 10_000);
      expect.soft(countSince(bench, restartMark).manifestHead).toBe(0);

      return {
        images,
        startupCheckMs,
        scrapeMedianMs: median(times),
        scrapeP99Ms: quantile(times, 0.99),
        scrapeBytes,
        wireBytes,
        clientMedianMs: median(decoded),
        clientP99Ms: quantile(decoded, 0.99),
        rssBytes: rss(afterScrapes),
        fileBackedBytes: split.fileBacked,
        peakRssBytes,
        pacedRssBytes: rss(paced),
        steadyRunMs: value(after, 'diun_watch_last_run_duration_seconds') * 1000,
        steadyCpuSecondsPer1000: cpu / (images / 1000),
        stateFileBytes,
        restartHealthyMs: restart.healthyMs,
        restartReadyMs: restart.readyMs,
        restartRssBytes: Number(
          /^process_resident_memory_bytes (\S+)$/m.exec(restored)?.[1] ?? Number.NaN,
        ),
      };
    } finally {
      await exporter.stop();
    }
  }
});

/** Spawns `dist/cli.js serve` and polls every 5 ms until /-/healthy, then /-/ready, answer 200. */
async function timeRestart(configFile: string, url: string) {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, 'serve', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  stopWithProcess(child, 'SIGKILL');
  const until = async (path: string) => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exporter exited ${child.exitCode}`);
      const res = await fetch(`${url}${path}`).catch(() => undefined);
      if (res?.status === 200) return performance.now() - started;
      await res?.arrayBuffer();
      if (performance.now() - started > 60_000) throw new Error(`${path} not 200 within 60 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const healthyMs = await until('/-/healthy');
  const readyMs = await until('/-/ready');
  return { child, healthyMs, readyMs };
}
