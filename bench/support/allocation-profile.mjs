// Preloaded into the exporter (`BENCH_EXPORTER_NODE_OPTIONS="--import
// ./bench/support/allocation-profile.mjs"`): samples every allocation, collected objects
// included, while the first `POST /api/v1/check` is answered (the steady run of
// scrape-memory.bench.ts), then writes to $ALLOC_PROFILE_OUT (default
// reports/allocation-profile.txt) the bytes allocated in all, the top allocating frames, and
// the top frames of the exporter's own code (dist/) each allocation happened under, with the
// raw profile beside it (`.heapprofile`, which Chrome's DevTools open).
import dc from 'node:diagnostics_channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { dirname } from 'node:path';

const out = process.env.ALLOC_PROFILE_OUT ?? 'reports/allocation-profile.txt';
const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  );

let started = false;
dc.subscribe('http.server.request.start', ({ request, response }) => {
  if (started || request.method !== 'POST' || !request.url.startsWith('/api/v1/check')) return;
  started = true;
  const sampling = post('HeapProfiler.enable').then(() =>
    post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    }),
  );
  response.on('finish', async () => {
    await sampling;
    const { profile } = await post('HeapProfiler.stopSampling');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.heapprofile`, JSON.stringify(profile));
    writeFileSync(out, summary(profile));
  });
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
  walk(profile.head, '(no exporter frame: sockets, parsers, timers)');
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB`;
  const top = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([name, bytes]) => `${mib(bytes)}  ${name}`);
  return `${[
    `allocated while the run was answered: ${mib(total)}`,
    '',
    'by allocating frame:',
    ...top(self),
    '',
    "by the nearest frame of the exporter's own code:",
    ...top(ours),
  ].join('\n')}\n`;
}
