// Preloaded into the exporter (`BENCH_EXPORTER_NODE_OPTIONS="--import
// ./bench/support/promoted-profile.mjs"`): samples every allocation from start-up that survived
// the young generation (objects collected by minor GCs left out, by major GCs kept in), until
// the first `GET /metrics` sent with `Accept-Encoding: gzip` alone (scrape-memory.bench.ts's
// scrape loop, right after the start-up check). What it lists is what V8 moved to its old space
// by then, live or not: the bytes that grow the heap. Writes to $PROMOTED_PROFILE_OUT (default
// reports/promoted-profile.txt) the total and the top frames, by allocating frame and by the
// nearest frame of the exporter's own code (dist/).
import dc from 'node:diagnostics_channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { dirname } from 'node:path';
import v8 from 'node:v8';

const out = process.env.PROMOTED_PROFILE_OUT ?? 'reports/promoted-profile.txt';
const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  );
const sampling = post('HeapProfiler.enable').then(() =>
  post('HeapProfiler.startSampling', {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  }),
);

let stopped = false;
dc.subscribe('http.server.request.start', async ({ request }) => {
  if (stopped || request.url !== '/metrics' || request.headers['accept-encoding'] !== 'gzip') {
    return;
  }
  stopped = true;
  await sampling;
  const { profile } = await post('HeapProfiler.stopSampling');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, summary(profile));
});

function frameName({ functionName, url, lineNumber }) {
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

function summary(profile) {
  const self = new Map();
  const ours = new Map();
  let total = 0;
  const walk = (node, nearestOwn) => {
    const name = frameName(node.callFrame);
    const own = name.includes(' dist/') ? name : nearestOwn;
    if (node.selfSize > 0) {
      total += node.selfSize;
      self.set(name, (self.get(name) ?? 0) + node.selfSize);
      ours.set(own, (ours.get(own) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, own);
  };
  walk(profile.head, '(no exporter frame: start-up, modules, sockets)');
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB`;
  const top = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([name, bytes]) => `${mib(bytes)}  ${name}`);
  const heap = v8.getHeapStatistics();
  return `${[
    `promoted since start-up, by the first gzip scrape: ${mib(total)}`,
    `(heap then: used ${mib(heap.used_heap_size)}, total ${mib(heap.total_heap_size)})`,
    '',
    'by allocating frame:',
    ...top(self),
    '',
    "by the nearest frame of the exporter's own code:",
    ...top(ours),
  ].join('\n')}\n`;
}
