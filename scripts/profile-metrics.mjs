// Scrape cost, RSS and start-up time at 1,000 and 10,000 images, measured on the built code.
// Run after `npm run build`: `node scripts/profile-metrics.mjs [images...]` (default 1000 10000)
// measures in-process, each size in its own process so RSS is that size's alone;
// `node scripts/profile-metrics.mjs --serve [images...]` (default 10000) times the real `serve`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const { ConfigSchema } = await import(new URL('config/schema.js', dist).href);
const { createMetrics } = await import(new URL('metrics/exporter-metrics.js', dist).href);
const { evaluate } = await import(new URL('watch/evaluate.js', dist).href);
const { imageKey } = await import(new URL('watch/model.js', dist).href);
const { noHooks } = await import(new URL('watch/hooks.js', dist).href);
const { StateStore } = await import(new URL('state/store.js', dist).href);
const { composePresentation } = await import(new URL('providers/common.js', dist).href);
const { Watcher } = await import(new URL('watch/watcher.js', dist).href);
const { createApp, listen } = await import(new URL('server/app.js', dist).href);

const defaults = ConfigSchema.parse({}).defaults;
const hex = (n, salt) =>
  `sha256:${(n * 2654435761 + salt).toString(16).padStart(8, '0').repeat(8).slice(0, 64)}`;

/** n images, each run by 1-3 containers, with realistic label lengths and a few odd ones. */
function fleet(n) {
  const containers = [];
  const records = [];
  for (let i = 0; i < n; i++) {
    const image = `registry-${i % 7}.example.com/team-${i % 31}/service-${i}:1.${i % 40}.${i % 9}`;
    const remote = hex(i, 1);
    const local = i % 5 === 0 ? hex(i, 2) : remote; // every fifth image outdated
    for (let c = 0; c < 1 + (i % 3); c++) {
      const name = `stack-${i % 97}-service-${i}-${c}`;
      const listed = {
        provider: 'docker',
        endpoint: i % 4 === 0 ? 'edge-host' : 'local',
        id: `${i}-${c}`.padStart(64, '0'),
        name,
        image,
        imageId: hex(i, 3),
        repoDigests: [`${image.split(':')[0]}@${local}`],
        platform: { os: 'linux', architecture: 'amd64' },
        state: 'running',
        kind: 'container',
        options: {
          ...defaults,
          ...(i % 50 === 0 ? { hubLink: `https://example.com/"odd"\\link\n${i}` } : {}),
        },
        errors: [],
      };
      containers.push({
        ...listed,
        ...composePresentation(listed, `stack-${i % 97}`, `service-${i}`),
      });
    }
    records.push({
      provider: 'docker',
      image,
      remoteDigest: remote,
      remoteDigestSince: 1_700_000_000 + i,
      remoteCreated: 1_699_000_000 + i,
      lastCheck: 1_700_100_000 + i,
      status: local === remote ? 'unchange' : 'update',
      updateAvailable: local !== remote,
      ...(i % 3 === 0
        ? { version: { current: '1.2.3', latest: '1.4.0', newer: true, diff: 'minor' } }
        : {}),
    });
  }
  return { containers, records };
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function measure(n) {
  const { containers, records } = fleet(n);
  const byKey = new Map(records.map((r) => [imageKey(r.provider, r.image), r]));
  let snapshot = evaluate(containers, byKey, 1_700_200_000);
  const lastRun = {
    startedAt: 1,
    finishedAt: 2,
    durationSeconds: 1,
    images: { new: 0, update: 1, unchange: 2, skip: 0, error: 0 },
    providerErrors: [],
    skipped: false,
  };
  const { register } = createMetrics({
    snapshot: () => snapshot,
    providerStatus: () => [{ provider: 'docker', endpoint: 'local', up: true }],
    lastRun: () => lastRun,
    lastSuccess: () => 2,
  });
  const times = [];
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    bytes = (await register.metrics()).length;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);

  // A scrape right after the watcher published a new snapshot: the text is rendered afresh.
  const fresh = [];
  for (let i = 0; i < 20; i++) {
    snapshot = { ...snapshot };
    const t = performance.now();
    await register.metrics();
    fresh.push(performance.now() - t);
  }
  fresh.sort((a, b) => a - b);
  const rss = process.memoryUsage().rss;

  // The same through the /metrics route over HTTP (Express, body sent, connection kept alive).
  const app = createApp({ watcher: { ready: true }, register, metricsPath: '/metrics' });
  const server = await listen(app, 0, '127.0.0.1');
  const url = `http://127.0.0.1:${server.address().port}/metrics`;
  const http = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.text();
    http.push(performance.now() - t);
  }
  http.sort((a, b) => a - b);
  server.close();
  const rssAfterHttp = process.memoryUsage().rss;

  // Start-up: state file load, restore (evaluates once), ready to serve.
  const dir = mkdtempSync(join(tmpdir(), 'profile-metrics-'));
  const store = new StateStore(join(dir, 'state.json'));
  store.save({ images: records, containers, lastRun });
  const config = ConfigSchema.parse({});
  const starts = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const watcher = new Watcher({ config, providers: [], registry: {}, store, hooks: noHooks });
    watcher.restore();
    starts.push(performance.now() - t);
  }
  starts.sort((a, b) => a - b);
  rmSync(dir, { recursive: true });
  return {
    images: n,
    containers: containers.length,
    bytes,
    scrapeMedianMs: +quantile(times, 0.5).toFixed(2),
    scrapeP99Ms: +quantile(times, 0.99).toFixed(2),
    freshScrapeMedianMs: +quantile(fresh, 0.5).toFixed(2),
    freshScrapeP99Ms: +quantile(fresh, 0.99).toFixed(2),
    httpMedianMs: +quantile(http, 0.5).toFixed(2),
    httpP99Ms: +quantile(http, 0.99).toFixed(2),
    rssMB: Math.round(rss / 2 ** 20),
    rssAfterHttpMB: Math.round(rssAfterHttp / 2 ** 20),
    restoreMedianMs: +quantile(starts, 0.5).toFixed(1),
  };
}

/**
 * The real process: `serve` with a state file of n images and nothing to check, timed from
 * spawn to /-/ready and to the first /metrics, then 200 scrapes over HTTP and the server's RSS.
 * The (empty) file provider's first listing soon replaces the restored picture, so the later
 * scrapes are small: `lastBytes` says so. Only readyMs and firstMetricsMs hold n images.
 */
async function measureServe(n) {
  const { containers, records } = fleet(n);
  const dir = mkdtempSync(join(tmpdir(), 'profile-serve-'));
  new StateStore(join(dir, 'state.json')).save({ images: records, containers });
  writeFileSync(join(dir, 'images.yml'), '[]\n');
  const port = 20000 + (process.pid % 20000);
  const config = join(dir, 'diun.yml');
  writeFileSync(
    config,
    `watch: {runOnStartup: false}\ndb: {path: ${join(dir, 'state.json')}}\n` +
      `metrics: {addr: "127.0.0.1:${port}"}\nproviders: {file: {filename: ${join(dir, 'images.yml')}}}\n`,
  );
  const cli = fileURLToPath(new URL('cli.js', dist));
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], {
    stdio: 'ignore',
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  const base = `http://127.0.0.1:${port}`;
  let readyMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (readyMs === undefined) {
    if (exited || performance.now() - t0 > 20_000) throw new Error('serve did not get ready');
    const ok = await fetch(`${base}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) readyMs = performance.now() - t0;
    else await new Promise((r) => setTimeout(r, 5));
  }
  const first = await (await fetch(`${base}/metrics`)).text();
  const firstMetricsMs = performance.now() - t0;
  const times = [];
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    bytes = (await (await fetch(`${base}/metrics`)).arrayBuffer()).byteLength;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  child.kill('SIGTERM');
  if (!exited) await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true });
  return {
    serve: n,
    readyMs: Math.round(readyMs),
    firstMetricsMs: Math.round(firstMetricsMs),
    firstBytes: first.length,
    lastBytes: bytes,
    containerSeries: first.match(/^diun_container_update_available\{/gm)?.length ?? 0,
    httpMedianMs: +quantile(times, 0.5).toFixed(2),
    httpP99Ms: +quantile(times, 0.99).toFixed(2),
    serverRssMB: Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024),
  };
}

const serveMode = process.argv[2] === '--serve';
const sizes = process.argv.slice(serveMode ? 3 : 2).map(Number);
if (serveMode) {
  for (const n of sizes.length > 0 ? sizes : [10000])
    console.log(JSON.stringify(await measureServe(n)));
} else if (process.env.PROFILE_METRICS_CHILD) {
  console.log(JSON.stringify(await measure(sizes[0])));
} else {
  for (const n of sizes.length > 0 ? sizes : [1000, 10000]) {
    const out = execFileSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), String(n)],
      { env: { ...process.env, PROFILE_METRICS_CHILD: '1', LOG_LEVEL: 'error' } },
    );
    process.stdout.write(out);
  }
}
