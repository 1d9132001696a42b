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
import { dirname } from 'node:path';
import v8 from 'node:v8';
import { byFrame, inspectorPost, mib } from './heap-sampling.mjs';

const out = process.env.PROMOTED_PROFILE_OUT ?? 'reports/promoted-profile.txt';
const post = inspectorPost();
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

function summary(profile) {
  const { total, lines } = byFrame(profile, '(no exporter frame: start-up, modules, sockets)');
  const heap = v8.getHeapStatistics();
  return `${[
    `promoted since start-up, by the first gzip scrape: ${mib(total)}`,
    `(heap then: used ${mib(heap.used_heap_size)}, total ${mib(heap.total_heap_size)})`,
    '',
    ...lines,
  ].join('\n')}\n`;
}
