import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/exec.js';
import { type ExporterProcess, startExporter } from '../test/support/exporter.js';
import {
  fixtureNode,
  fixturePod,
  type KubeApiRequest,
  type KubeApiServer,
  type Pod,
  startKubeApiServer,
} from '../test/support/kube-apiserver.js';
import type { Sample } from '../test/support/metrics-text.js';
import { checkNow } from './support/bench-exporter.js';
import { type BenchRegistry, countSince, startBenchRegistry } from './support/bench-registry.js';
import { fakeId } from './support/docker-standin.js';
import { machine, writeReport } from './support/report.js';
import type { Counts } from './support/requests.js';
import { median } from './support/run-report.js';

// The kubernetes provider at cluster scale: 10,000 Deployment pods (1,000 ReplicaSets of 10) on
// 100 references over 20 namespaces and 50 nodes, served by the stand-in API server, images in
// the real registry. The built exporter lists them page by page, then follows the watch: a run
// must cost one HEAD per reference, a pod change no API list and no registry request. Counts are
// asserted; times are only reported.

const PODS = Number(process.env.BENCH_K8S_PODS ?? 10_000);
const REPLICAS = Number(process.env.BENCH_K8S_REPLICAS ?? 10);
const IMAGES = Number(process.env.BENCH_K8S_IMAGES ?? 100);
const OWNERS = Math.ceil(PODS / REPLICAS);
const NAMESPACES = 20;
const NODES = 50;
const STORM = 1000;
const ROLLOUTS = 5;
const TOKEN = 'bench-k8s-token';
// V8 flags for the exporter alone, e.g. --max-old-space-size=96 (as in scrape-memory.bench.ts).
const EXPORTER_NODE_OPTIONS = process.env.BENCH_EXPORTER_NODE_OPTIONS;
const COMMAND = 'npx vitest run --config vitest.bench.config.ts bench/kubernetes.bench.ts';

const SERIES = 'diun_container_update_available';
const value = (s: Sample[], name: string) => s.find((x) => x.name === name)?.value ?? Number.NaN;
const series = (s: Sample[]) => s.filter((x) => x.name === SERIES);

/** Kubernetes API requests by kind: list pages, watches, node GETs, anything else. */
function apiCounts(requests: KubeApiRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    const kind = r.path.endsWith('/pods')
      ? r.query.watch
        ? 'watch'
        : r.query.continue
          ? 'list (next page)'
          : 'list (first page)'
      : r.path.startsWith('/api/v1/nodes/')
        ? 'node GET'
        : `${r.method} ${r.path}`;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}
/** Scrapes every 10 ms until `predicate` holds: the time a change takes to show, to 10 ms. */
function poll(e: ExporterProcess, predicate: (text: string) => boolean, what: string) {
  return waitFor(
    async () => {
      const text = await e.scrapeText();
      return predicate(text) ? text : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 10, what },
  );
}
const total = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);

interface Figures {
  sizes: { pods: number; owners: number; images: number; namespaces: number; nodes: number };
  startup: {
    readyMs: number;
    firstRunMs: number;
    runSeconds: number;
    /** Process start to the first and the last registry request of the start-up. */
    firstRegistryMs: number;
    lastRegistryMs: number;
    api: Record<string, number>;
    registry: Counts;
  };
  steady: { wallMs: number; runSeconds: number; cpuSeconds: number; api: number; registry: Counts };
  seriesCount: number;
  memory: { rssBytes: number; heapUsedBytes: number };
  /** After the event storm: the heap once more garbage has been collected. */
  memoryEnd: { rssBytes: number; heapUsedBytes: number };
  digestChange: { ms: number; pods: number; api: number; registry: number; cpuSeconds: number };
  newReplicaSet: { ms: number[]; api: number; registry: number; cpuSeconds: number };
  storm: { events: number; sendMs: number; cpuSeconds: number; api: number; registry: number };
}

describe(`kubernetes: ${PODS} pods, ${OWNERS} owners, ${IMAGES} references`, () => {
  let bench: BenchRegistry;
  let api: KubeApiServer;
  let exporter: ExporterProcess | undefined;
  const figures: Partial<Figures> = {};
  const owners: Pod[][] = [];

  beforeAll(async () => {
    bench = await startBenchRegistry();
    const repos = Array.from({ length: IMAGES }, (_, i) => `bench/k8s-${i}`);
    await bench.fill(repos, ['1.0']);
    // One recorded Deployment pod per reference, cloned for each replica.
    const templates = repos.map((repo) =>
      fixturePod('deployment', {
        image: `${bench.host}/${repo}:1.0`,
        imageId: `${bench.host}/${repo}@${bench.base.digest}`,
      }),
    );
    let k = 0;
    for (let o = 0; o < OWNERS; o++) {
      const hash = fakeId(`rs ${o}`).slice(-10);
      const rs = `app-${o}-${hash}`;
      const pods: Pod[] = [];
      for (let r = 0; r < REPLICAS && k < PODS; r++, k++) {
        const pod = structuredClone(templates[o % IMAGES]!);
        pod.metadata.name = `${rs}-${fakeId(`pod ${k}`).slice(-5)}`;
        pod.metadata.namespace = `team-${o % NAMESPACES}`;
        pod.metadata.uid = fakeId(`pod uid ${k}`).slice(7, 43);
        pod.metadata.labels = { 'app.kubernetes.io/name': `app-${o}`, 'pod-template-hash': hash };
        pod.metadata.ownerReferences = pod.metadata.ownerReferences!.map((x) => ({
          ...x,
          name: rs,
          uid: `uid-${rs}`,
        }));
        pod.spec.nodeName = `node-${k % NODES}`;
        pods.push(pod);
      }
      owners.push(pods);
    }
    api = await startKubeApiServer({
      token: TOKEN,
      pods: owners.flat(),
      nodes: Array.from({ length: NODES }, (_, n) => fixtureNode({ name: `node-${n}` })),
    });
    figures.sizes = {
      pods: PODS,
      owners: OWNERS,
      images: IMAGES,
      namespaces: NAMESPACES,
      nodes: NODES,
    };
  }, 600_000);

  afterAll(async () => {
    await exporter?.stop();
    await api?.stop();
    await bench?.stop();
    writeReport('bench-kubernetes', render(figures), figures);
  });

  it('starts: lists page by page, one HEAD per reference, one series per owner', {
    timeout: 600_000,
  }, async () => {
    const mark = bench.mark();
    const t0 = performance.now();
    exporter = await startExporter(
      {
        watch: { schedule: '', workers: 10 },
        providers: { kubernetes: { endpoint: api.url, token: TOKEN } },
      },
      { env: EXPORTER_NODE_OPTIONS ? { NODE_OPTIONS: EXPORTER_NODE_OPTIONS } : {} },
    );
    const e = exporter;
    await waitFor(async () => (await fetch(`${e.url}/-/ready`)).status === 200, {
      timeoutMs: 300_000,
      intervalMs: 5,
      what: 'the exporter to be ready',
    });
    const readyMs = performance.now() - t0;
    const s = await e.until(
      (s) => value(s, 'diun_watch_last_run_timestamp_seconds') > 0,
      'the first run to finish',
      300_000,
    );
    const firstRunMs = performance.now() - t0;
    // The watch is open once the reflector has listed; wait for it so the counts are complete.
    await waitFor(() => api.openWatches() > 0, { timeoutMs: 120_000, what: 'a pod watch' });
    await sleep(500);
    figures.startup = {
      readyMs,
      firstRunMs,
      runSeconds: value(s, 'diun_watch_last_run_duration_seconds'),
      firstRegistryMs: Math.min(...bench.since(mark).map((q) => q.arrivedMs)) - t0,
      lastRegistryMs: Math.max(...bench.since(mark).map((q) => q.doneMs)) - t0,
      api: apiCounts(api.requests),
      registry: countSince(bench, mark),
    };
    console.log(JSON.stringify(figures.startup));
    const after = await e.scrape();
    figures.seriesCount = series(after).length;
    expect(figures.seriesCount).toBe(OWNERS);
    expect(figures.startup.registry.manifestHead).toBe(IMAGES);
    expect(figures.startup.registry.manifestGet).toBe(0);
    expect(figures.startup.api['node GET']).toBe(NODES);
    expect(figures.startup.api.watch).toBe(1);
  });

  it('a steady run: one HEAD per reference, no GET, no API call', {
    timeout: 600_000,
  }, async () => {
    const e = exporter!;
    const mark = bench.mark();
    const apiBefore = api.requests.length;
    const before = await e.scrape();
    const { wallMs } = await checkNow(e);
    const after = await e.scrape();
    figures.steady = {
      wallMs,
      runSeconds: value(after, 'diun_watch_last_run_duration_seconds'),
      cpuSeconds:
        value(after, 'process_cpu_seconds_total') - value(before, 'process_cpu_seconds_total'),
      api: api.requests.length - apiBefore,
      registry: countSince(bench, mark),
    };
    figures.memory = {
      rssBytes: value(after, 'process_resident_memory_bytes'),
      heapUsedBytes: value(after, 'nodejs_heap_size_used_bytes'),
    };
    console.log(JSON.stringify({ steady: figures.steady, memory: figures.memory }));
    const { manifestHead, ...rest } = figures.steady.registry;
    expect(manifestHead).toBe(IMAGES);
    expect(rest.manifestGet).toBe(0);
    expect(total(figures.steady.registry)).toBe(IMAGES);
    expect(figures.steady.api).toBe(0);
    expect(series(after)).toHaveLength(OWNERS);
  });

  it('a rollout through the watch: seen with no list and no registry request', {
    timeout: 600_000,
  }, async () => {
    const e = exporter!;
    // One owner's pods now run another digest of the same tag (as after a rollback): outdated.
    const moved = owners[0]!;
    const names = new Set(moved.map((p) => p.metadata.name));
    const other = fakeId('an older build');
    let mark = bench.mark();
    let apiBefore = api.requests.length;
    let before = await e.scrape();
    const t0 = performance.now();
    for (const pod of moved) {
      const status = pod.status.containerStatuses![0]!;
      status.imageID = status.imageID.replace(/@sha256:.*$/, `@${other}`);
      api.updatePod(pod);
    }
    // Done when the owner is one series again (two while its pods run two digests), outdated.
    await poll(
      e,
      (text) => {
        const mine = text
          .split('\n')
          .filter(
            (l) => l.startsWith(`${SERIES}{`) && [...names].some((n) => l.includes(`pod="${n}"`)),
          );
        return mine.length === 1 && mine[0]!.endsWith(' 1');
      },
      'the moved owner to be outdated',
    );
    const shownMs = performance.now() - t0;
    let after = await e.scrape();
    figures.digestChange = {
      ms: shownMs,
      pods: moved.length,
      api: api.requests.length - apiBefore,
      registry: total(countSince(bench, mark)),
      cpuSeconds:
        value(after, 'process_cpu_seconds_total') - value(before, 'process_cpu_seconds_total'),
    };
    expect(figures.digestChange.api).toBe(0);
    expect(figures.digestChange.registry).toBe(0);
    expect(series(after)).toHaveLength(OWNERS);

    // A new ReplicaSet's first pod beside the old ones: one more series. Five times, for a spread.
    mark = bench.mark();
    apiBefore = api.requests.length;
    before = await e.scrape();
    const times: number[] = [];
    for (let i = 0; i < ROLLOUTS; i++) {
      const pod = marker(`rollout-${i}`);
      const t1 = performance.now();
      api.addPod(pod);
      await poll(e, (text) => text.includes(`pod="${pod.metadata.name}"`), 'the new ReplicaSet');
      times.push(performance.now() - t1);
    }
    after = await e.scrape();
    figures.newReplicaSet = {
      ms: times,
      api: api.requests.length - apiBefore,
      registry: total(countSince(bench, mark)),
      cpuSeconds:
        (value(after, 'process_cpu_seconds_total') - value(before, 'process_cpu_seconds_total')) /
        ROLLOUTS,
    };
    console.log(JSON.stringify({ digest: figures.digestChange, rs: figures.newReplicaSet }));
    expect(series(after)).toHaveLength(OWNERS + ROLLOUTS);
    expect(figures.newReplicaSet.api).toBe(0);
    expect(figures.newReplicaSet.registry).toBe(0);
  });

  it(`an event storm: ${STORM} readiness flips change nothing`, { timeout: 600_000 }, async () => {
    const e = exporter!;
    const mark = bench.mark();
    const apiBefore = api.requests.length;
    const before = await e.scrape();
    const stateBefore = statSync(e.statePath).mtimeMs;
    const pods = owners.flat().slice(REPLICAS); // not the owner moved above
    const t0 = performance.now();
    for (let i = 0; i < STORM; i++) {
      const pod = pods[i % pods.length]!;
      const flip = i % 2 === 0;
      const status = pod.status.containerStatuses![0]!;
      status.ready = !flip;
      status.restartCount += 1;
      pod.status.conditions = [
        {
          type: 'Ready',
          status: flip ? 'False' : 'True',
          lastTransitionTime: new Date().toISOString(),
        },
      ];
      api.updatePod(pod);
    }
    const sendMs = performance.now() - t0;
    // Events arrive in order: once a later, visible change shows, the storm has been read.
    await sleep(1000);
    const stateAfter = statSync(e.statePath).mtimeMs;
    const last = marker('storm');
    api.addPod(last);
    await poll(e, (text) => text.includes(`pod="${last.metadata.name}"`), 'the marker pod');
    const after = await e.scrape();
    figures.storm = {
      events: STORM,
      sendMs,
      cpuSeconds:
        value(after, 'process_cpu_seconds_total') - value(before, 'process_cpu_seconds_total'),
      api: api.requests.length - apiBefore,
      registry: total(countSince(bench, mark)),
    };
    figures.memoryEnd = {
      rssBytes: value(after, 'process_resident_memory_bytes'),
      heapUsedBytes: value(after, 'nodejs_heap_size_used_bytes'),
    };
    console.log(JSON.stringify({ storm: figures.storm, memory: figures.memoryEnd }));
    // Nothing reported changed: no re-evaluation persisted, no list, no registry request, no run.
    expect(stateAfter).toBe(stateBefore);
    expect(figures.storm.api).toBe(0);
    expect(figures.storm.registry).toBe(0);
    expect(value(after, 'diun_watch_runs_total')).toBe(value(before, 'diun_watch_runs_total'));
  });

  /** The first pod of a new ReplicaSet of a new Deployment, on an already-checked reference. */
  function marker(tag: string): Pod {
    const pod = structuredClone(owners[1]![0]!);
    const hash = fakeId(`marker ${tag}`).slice(-10);
    const rs = `${tag}-${hash}`;
    pod.metadata.name = `${rs}-aaaaa`;
    pod.metadata.uid = fakeId(`marker uid ${tag}`).slice(7, 43);
    pod.metadata.labels = { 'pod-template-hash': hash };
    pod.metadata.ownerReferences = pod.metadata.ownerReferences!.map((x) => ({
      ...x,
      name: rs,
      uid: `uid-${rs}`,
    }));
    return pod;
  }
});

const ms = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)} ms`);
const mib = (v: number | undefined) => (v === undefined ? '-' : `${(v / 2 ** 20).toFixed(1)} MiB`);
const kinds = (c: Counts | undefined) =>
  c
    ? `${c.ping} / ${c.token} / ${c.manifestHead} / ${c.manifestGet} / ${c.blob} / ${c.tags + c.other}`
    : '-';
const calls = (d: Record<string, number> | undefined) =>
  d
    ? Object.entries(d)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ')
    : '-';

const spread = (v: number[] | undefined) =>
  v?.length ? `${ms(median(v))} (${ms(Math.min(...v))}–${ms(Math.max(...v))})` : '-';

function render(f: Partial<Figures>): string {
  const m = machine();
  const s = f.sizes;
  return `${[
    `Command: \`${COMMAND}\` (after \`npm run build\`), BENCH_K8S_PODS=${PODS} BENCH_K8S_REPLICAS=${REPLICAS} BENCH_K8S_IMAGES=${IMAGES}.`,
    `Run ${m.date} on ${m.nproc} CPU(s) (${m.cpu}), ${m.memory} RAM, Node ${m.node}.`,
    '',
    `${s?.pods} Deployment pods of ${s?.owners} ReplicaSets on ${s?.images} references, ${s?.namespaces} namespaces, ${s?.nodes} nodes (stand-in API server, real registry behind a token service). Registry requests: ping / token / manifest HEAD / manifest GET / blob / other.`,
    '',
    '| what | figure |',
    '|---|---|',
    `| process start to \`/-/ready\` 200 | ${ms(f.startup?.readyMs)} |`,
    `| process start to the first run finished (seen in /metrics) | ${ms(f.startup?.firstRunMs)} (run ${ms((f.startup?.runSeconds ?? Number.NaN) * 1000)}; registry requests from ${ms(f.startup?.firstRegistryMs)} to ${ms(f.startup?.lastRegistryMs)}) |`,
    `| Kubernetes API requests, start-up | ${calls(f.startup?.api)} |`,
    `| registry requests, start-up | ${kinds(f.startup?.registry)} |`,
    `| steady run (\`POST /api/v1/check\`): registry requests | ${kinds(f.steady?.registry)} |`,
    `| steady run: Kubernetes API requests | ${f.steady?.api ?? '-'} |`,
    `| steady run: POST wall / run duration / CPU | ${ms(f.steady?.wallMs)} / ${ms((f.steady?.runSeconds ?? Number.NaN) * 1000)} / ${f.steady?.cpuSeconds.toFixed(2) ?? '-'} s |`,
    `| \`${SERIES}\` series | ${f.seriesCount ?? '-'} |`,
    `| RSS / heap used after the steady run | ${mib(f.memory?.rssBytes)} / ${mib(f.memory?.heapUsedBytes)} |`,
    `| RSS / heap used at the end (after the event storm) | ${mib(f.memoryEnd?.rssBytes)} / ${mib(f.memoryEnd?.heapUsedBytes)} |`,
    `| one owner's ${f.digestChange?.pods ?? '-'} pods move to another digest: until the series shows it | ${ms(f.digestChange?.ms)} (CPU ${f.digestChange?.cpuSeconds.toFixed(2) ?? '-'} s; pod lists ${f.digestChange?.api ?? '-'}, registry requests ${f.digestChange?.registry ?? '-'}) |`,
    `| a new ReplicaSet's pod: until its series shows (${ROLLOUTS} times: median (min–max); CPU per change) | ${spread(f.newReplicaSet?.ms)} (CPU ${f.newReplicaSet?.cpuSeconds.toFixed(2) ?? '-'} s; pod lists ${f.newReplicaSet?.api ?? '-'}, registry requests ${f.newReplicaSet?.registry ?? '-'}) |`,
    `| event storm: ${f.storm?.events ?? '-'} readiness flips (sent in ${ms(f.storm?.sendMs)}) plus one marker pod | CPU ${f.storm?.cpuSeconds.toFixed(2) ?? '-'} s; pod lists ${f.storm?.api ?? '-'}, registry requests ${f.storm?.registry ?? '-'} |`,
  ].join('\n')}\n`;
}
