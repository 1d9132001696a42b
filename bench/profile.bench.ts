import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopWithProcess, terminate, waitFor } from '../test/support/exec.js';
import { parseMetrics } from '../test/support/metrics-text.js';
import { startListExporter } from './support/bench-exporter.js';
import { type BenchRegistry, quiet, startBenchRegistry } from './support/bench-registry.js';
import { topSelfTime } from './support/cpu-profile.js';
import { writeReport } from './support/report.js';
import { metricCounts } from './support/requests.js';

// Where a target is missed: `node --cpu-prof` of the exporter with 10,000 images while
// it runs its start-up check, serves 50 scrapes and exits, then of a restart from that state.
// Opt-in (BENCH_PROFILE=1): profiling slows the process, so it runs apart from the figures.

const IMAGES = Number(process.env.BENCH_PROFILE_IMAGES ?? 10_000);
const REPOS = 10;
const SCRAPES = 50;

describe.runIf(process.env.BENCH_PROFILE === '1')('CPU profiles with a large snapshot', () => {
  let bench: BenchRegistry;
  const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
  const perRepo = Math.ceil(IMAGES / REPOS);
  const out: string[] = [];

  beforeAll(async () => {
    bench = await startBenchRegistry();
    await bench.fill(
      Array.from({ length: REPOS }, (_, r) => `bench/many-${r}`),
      Array.from({ length: perRepo }, (_, t) => `t-${t}`),
    );
  });

  afterAll(async () => {
    await bench?.stop();
    writeReport('benchmarks-profile', `${out.join('\n')}\n`);
  });

  it(`${IMAGES} images: start-up check, ${SCRAPES} scrapes, restart`, {
    timeout: 900_000,
  }, async () => {
    const refs = Array.from(
      { length: IMAGES },
      (_, i) => `${bench.host}/bench/many-${i % REPOS}:t-${Math.floor(i / REPOS)}`,
    );
    const profiles = resolve('reports', 'profiles');
    mkdirSync(profiles, { recursive: true });
    const phase = (name: string) => {
      const d = join(profiles, name);
      mkdirSync(d, { recursive: true });
      return { dir: d };
    };
    const run = phase('run-and-scrapes');
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: the exporter writes its config, is stopped,
    // and the profiled processes are spawned here on that config, the state file removed first
    // so the first one makes the start-up check of never-seen references.
    const exporter = await startListExporter(join(dir, 'images.yml'), refs);
    try {
      await exporter.kill('SIGTERM');
      rmSync(exporter.statePath, { force: true });
      const first = profiled(exporter.configFile, run.dir);
      await waitFor(
        () =>
          fetch(`${exporter.url}/-/healthy`).then(
            (r) => r.ok,
            () => false,
          ),
        {
          timeoutMs: 30_000,
          what: 'the profiled exporter to serve',
        },
      );
      await waitFor(
        async () => {
          const text = await (await fetch(`${exporter.url}/metrics`)).text();
          return metricCounts(parseMetrics(text)).manifestHead >= IMAGES;
        },
        { timeoutMs: 600_000, intervalMs: 500, what: 'the start-up check' },
      );
      await quiet(bench, 500);
      for (let k = 0; k < SCRAPES; k++) await (await fetch(`${exporter.url}/metrics`)).text();
      await terminate(first, 30_000);
      report('start-up check of never-seen references, then 50 scrapes', run.dir);

      const restart = phase('restart');
      const second = profiled(exporter.configFile, restart.dir);
      await waitFor(
        () =>
          fetch(`${exporter.url}/-/ready`).then(
            (r) => r.ok,
            () => false,
          ),
        {
          timeoutMs: 60_000,
          intervalMs: 5,
          what: 'the restarted exporter to be ready',
        },
      );
      await (await fetch(`${exporter.url}/metrics`)).text();
      await terminate(second, 30_000);
      report('restart from the state file until ready, one scrape', restart.dir);
    } finally {
      await exporter.stop();
    }
  });

  function report(what: string, profileDir: string) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    expect(file, `a .cpuprofile in ${profileDir}`).toBeDefined();
    const top = topSelfTime(JSON.parse(readFileSync(join(profileDir, file!), 'utf8')), 20);
    out.push(`### ${what}`, '', `Profile: ${join(profileDir, file!)}`, '', ...top, '');
  }
});

const cli = resolve(import.meta.dirname, '..', 'dist', 'cli.js');

/** `node --cpu-prof dist/cli.js serve --config FILE`, the profile written to `dir` at exit. */
function profiled(configFile: string, dir: string) {
  const child = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${dir}`, cli, 'serve', '--config', configFile],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  stopWithProcess(child, 'SIGKILL');
  return child;
}
