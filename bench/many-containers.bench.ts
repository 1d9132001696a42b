import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExporterProcess, startExporter } from '../test/support/exporter.js';
import type { Sample } from '../test/support/metrics-text.js';
import { checkNow } from './support/bench-exporter.js';
import {
  type BenchRegistry,
  countSince,
  quiet,
  startBenchRegistry,
} from './support/bench-registry.js';
import { diffCounts, spanMs } from './support/counting-proxy.js';
import {
  type DockerStandin,
  fakeId,
  type StandinContainer,
  type StandinImage,
  startDockerStandin,
} from './support/docker-standin.js';
import { machine, writeReport } from './support/report.js';
import { type Counts, metricCounts, rss } from './support/requests.js';
import { median } from './support/run-report.js';

// Many containers on few images. 1,000 containers over 20 images pushed to the real
// registry, listed by a Docker Engine API stand-in (the throwaway dockerd here cannot hold 1,000
// containers cheaply). A steady run must cost one HEAD per image and one image inspect per
// image, whatever the number of containers. Counts are asserted; times are only reported.

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 1000);
const IMAGES = Number(process.env.BENCH_CONTAINER_IMAGES ?? 20);
const LATENCIES = (process.env.BENCH_CONTAINER_LATENCIES ?? '0,20').split(',').map(Number);
// At most 10 POSTed checks a minute per process: 5 leaves room.
const RUNS = 5;
const COMMAND = 'npx vitest run --config vitest.bench.config.ts bench/many-containers.bench.ts';

const value = (s: Sample[], name: string) => s.find((x) => x.name === name)?.value ?? Number.NaN;

interface Run {
  registry: Counts;
  docker: Record<string, number>;
  wallMs: number;
  runMs: number;
  cpuSeconds: number;
  rssBytes: number;
  /** First Docker API request to last answer, in ms: the listing's share of the run. */
  dockerMs: number;
  /** First registry request to last answer, in ms. */
  registryMs: number;
}

interface Figures {
  latencyMs: number;
  startup: { registry: Counts; docker: Record<string, number>; ms: number };
  runs: Run[];
}

function diffDocker(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after))
    if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

describe(`${CONTAINERS} containers on ${IMAGES} images`, () => {
  let bench: BenchRegistry;
  let docker: DockerStandin;
  const results: Figures[] = [];

  beforeAll(async () => {
    bench = await startBenchRegistry();
    const repos = Array.from({ length: IMAGES }, (_, i) => `bench/fleet-${i}`);
    await bench.fill(repos, ['1.0']);
    // Each image as `docker pull` leaves it: its tag, and the registry's digest in RepoDigests.
    const images: StandinImage[] = repos.map((repo) => ({
      id: fakeId(`image ${repo}`),
      reference: `${bench.host}/${repo}:1.0`,
      repoDigests: [`${bench.host}/${repo}@${bench.base.digest}`],
    }));
    const containers: StandinContainer[] = Array.from({ length: CONTAINERS }, (_, k) => ({
      id: fakeId(`container ${k}`).slice('sha256:'.length),
      name: `svc-${k}`,
      image: images[k % IMAGES]!,
      labels: {
        'com.docker.compose.project': `stack-${k % 50}`,
        'com.docker.compose.service': `svc-${k}`,
      },
    }));
    docker = await startDockerStandin(containers);
  });

  afterAll(async () => {
    await docker?.close();
    await bench?.stop();
    writeReport('bench-many-containers', render(results), results);
  });

  for (const latency of LATENCIES) {
    it(`registry latency ${latency} ms`, { timeout: 600_000 }, async () => {
      results.push(await scenario(latency));
    });
  }

  async function scenario(latencyMs: number): Promise<Figures> {
    bench.setLatency(latencyMs);
    const mark = bench.mark();
    const dockerBefore = docker.counts();
    const started = performance.now();
    const exporter = await startExporter({
      watch: { schedule: '', runOnStartup: false, workers: 10 },
      providers: { docker: { endpoint: docker.endpoint, watchByDefault: true } },
    });
    try {
      // The start-up check of never-seen references (see cold-steady.bench.ts).
      const seen = await exporter.until(
        (s) => s.filter((x) => x.name === 'diun_container_update_available').length >= CONTAINERS,
        `${CONTAINERS} containers in the snapshot`,
        120_000,
      );
      await quiet(bench, 500 + 2 * latencyMs);
      const startup = {
        registry: countSince(bench, mark),
        docker: diffDocker(docker.counts(), dockerBefore),
        ms: performance.now() - started,
      };
      console.log(JSON.stringify({ latencyMs, startup }));
      expect(seen.filter((x) => x.name === 'diun_container_update_available').length).toBe(
        CONTAINERS,
      );
      expect(seen.filter((x) => x.name === 'diun_image_update_available').length).toBe(IMAGES);
      expect.soft(startup.registry.manifestHead).toBe(IMAGES);

      const runs: Run[] = [];
      for (let k = 0; k < RUNS; k++) runs.push(await steadyRun(exporter, latencyMs, k));
      return { latencyMs, startup, runs };
    } finally {
      await exporter.stop();
    }
  }

  async function steadyRun(exporter: ExporterProcess, latencyMs: number, k: number): Promise<Run> {
    const mark = bench.mark();
    const before = await exporter.scrape();
    const dockerBefore = docker.counts();
    const dockerMark = docker.log.length;
    const { wallMs } = await checkNow(exporter);
    const after = await exporter.scrape();
    const run: Run = {
      registry: countSince(bench, mark),
      docker: diffDocker(docker.counts(), dockerBefore),
      wallMs,
      runMs: value(after, 'diun_watch_last_run_duration_seconds') * 1000,
      cpuSeconds:
        value(after, 'process_cpu_seconds_total') - value(before, 'process_cpu_seconds_total'),
      rssBytes: rss(after),
      dockerMs: spanMs(docker.log.slice(dockerMark)),
      registryMs: spanMs(bench.since(mark)),
    };
    console.log(JSON.stringify({ latencyMs, k, ...run }));
    // One HEAD per unique reference, nothing else, however many containers share it.
    expect.soft(run.registry.manifestHead).toBe(IMAGES);
    expect.soft(diffCounts(metricCounts(after), metricCounts(before)).manifestHead).toBe(IMAGES);
    const { manifestHead: _, ...rest } = run.registry;
    expect.soft(Object.values(rest).reduce((a, b) => a + b, 0)).toBe(0);
    // One listing and one image inspect per image, not per container; no container inspect.
    expect.soft(run.docker).toEqual({
      'GET /containers/json': 1,
      'GET /images/{id}/json': IMAGES,
    });
    return run;
  }
});

const kinds = (c: Counts) =>
  `${c.ping} / ${c.token} / ${c.manifestHead} / ${c.manifestGet} / ${c.blob} / ${c.tags + c.other}`;
const apiCalls = (d: Record<string, number>) =>
  Object.entries(d)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
const spread = (values: number[], unit: (v: number) => string) =>
  `${unit(median(values))} (${unit(Math.min(...values))}–${unit(Math.max(...values))})`;
const ms = (v: number) => `${Math.round(v)} ms`;

function render(results: Figures[]): string {
  const m = machine();
  const lines = [
    `Command: \`${COMMAND}\` (after \`npm run build\`).`,
    `Run ${m.date} on ${m.nproc} CPU(s) (${m.cpu}), ${m.memory} RAM, Node ${m.node}.`,
    '',
    `${CONTAINERS} containers on ${IMAGES} images (Docker API stand-in, real registry behind a latency proxy, anonymous tokens). Registry requests: ping / token / manifest HEAD / manifest GET / blob / other. Steady: ${RUNS} runs by \`POST /api/v1/check\`, median (min–max).`,
    '',
    '| L | run | registry requests | Docker API requests | run time | of which Docker listing | of which registry | ideal L×⌈images/4⌉ | POST wall | CPU s | CPU ms per container | RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.latencyMs} ms | start-up (cold, process start included) | ${kinds(r.startup.registry)} | ${apiCalls(r.startup.docker)} | ${ms(r.startup.ms)} | - | - | - | - | - | - | - |`,
    );
    const same = r.runs.every((x) => kinds(x.registry) === kinds(r.runs[0]!.registry));
    const sameApi = r.runs.every((x) => apiCalls(x.docker) === apiCalls(r.runs[0]!.docker));
    const cpu = r.runs.map((x) => x.cpuSeconds);
    lines.push(
      `| ${r.latencyMs} ms | steady ×${r.runs.length} | ${same ? kinds(r.runs[0]!.registry) : 'varies, see JSON'} (each) | ${sameApi ? apiCalls(r.runs[0]!.docker) : 'varies, see JSON'} (each) | ${spread(
        r.runs.map((x) => x.runMs),
        ms,
      )} | ${spread(
        r.runs.map((x) => x.dockerMs),
        ms,
      )} | ${spread(
        r.runs.map((x) => x.registryMs),
        ms,
      )} | ${r.latencyMs ? ms(r.latencyMs * Math.ceil(IMAGES / 4)) : '-'} | ${spread(
        r.runs.map((x) => x.wallMs),
        ms,
      )} | ${spread(cpu, (v) => v.toFixed(2))} | ${((median(cpu) * 1000) / CONTAINERS).toFixed(2)} | ${(r.runs.at(-1)!.rssBytes / 2 ** 20).toFixed(0)} MiB |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
